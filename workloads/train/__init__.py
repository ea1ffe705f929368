"""``workloads train``: a skorch row on the chosen device beside a scikit-learn row on the CPU.

data (torchvision, generated, a user's file via files) → models (networks, hyperparameters,
estimators) → placement (resident or streamed) → run → records (JSON) → validation / table / plot.
"""
