"""Pure-Python runners of simulations (no Django): the driver, headless CLI runs, scenarios,
coverage and batches. They import ``simulator.ors`` and ``simulator.scxml``; neither imports them."""
