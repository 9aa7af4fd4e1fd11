"""Run steps: load a step's inputs, call the stage with its config section, write.

One module per step. ``themes run`` (through the Prefect tasks in ``flows/``)
and ``themes train`` call the same steps, so every policy (the anonymisation
check above all) applies to both.
"""
