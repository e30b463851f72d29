from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "simulator"

    def ready(self) -> None:
        from simulator import signals  # noqa: F401  (connects the access receivers)
