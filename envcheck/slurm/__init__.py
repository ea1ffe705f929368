"""envcheck in Slurm: the node health check and the srun-gathered fleet table."""
