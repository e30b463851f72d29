"""The inputs log moves from a JSON column rewritten by debounced saves to append-only rows
written before each frame is sent (`SimulationOp`), ordered by `Simulation.revision`."""

from django.db import migrations, models
import django.db.models.deletion


def move_inputs(apps, schema_editor):
    Simulation = apps.get_model("simulator", "Simulation")
    SimulationOp = apps.get_model("simulator", "SimulationOp")
    for simulation in Simulation.objects.exclude(inputs=[]).iterator():
        inputs = simulation.inputs or []
        SimulationOp.objects.bulk_create(
            SimulationOp(simulation=simulation, index=i, revision=1, op=op) for i, op in enumerate(inputs)
        )
        Simulation.objects.filter(pk=simulation.pk).update(revision=1, log_length=len(inputs))


def move_back(apps, schema_editor):
    Simulation = apps.get_model("simulator", "Simulation")
    SimulationOp = apps.get_model("simulator", "SimulationOp")
    for simulation in Simulation.objects.filter(log_length__gt=0).iterator():
        rows = SimulationOp.objects.filter(simulation=simulation, index__lt=simulation.log_length).order_by("index")
        Simulation.objects.filter(pk=simulation.pk).update(inputs=[row.op for row in rows])


class Migration(migrations.Migration):
    dependencies = [
        ("simulator", "0005_batchrun"),
    ]

    operations = [
        migrations.AddField(
            model_name="simulation",
            name="revision",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="simulation",
            name="log_length",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="SimulationOp",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("index", models.PositiveIntegerField()),
                ("revision", models.PositiveBigIntegerField()),
                ("op", models.JSONField()),
                (
                    "simulation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="ops", to="simulator.simulation"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("simulation", "index"), name="simulation_op_index")],
            },
        ),
        migrations.RunPython(move_inputs, move_back),
        migrations.RemoveField(model_name="simulation", name="inputs"),
    ]
