"""Training for colorize: turns folders of colour photos into the weights the app ships.

``python -m train --help`` lists every flag; ``python -m train.export`` writes a run's EMA
weights as a ``checkpoints/<name>/`` folder (and can push it to the Hugging Face Hub).
"""
