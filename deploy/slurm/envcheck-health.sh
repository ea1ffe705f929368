#!/bin/sh
# Slurm's HealthCheckProgram for gpu-envkit (slurm.conf takes a path, no arguments: this wrapper
# holds them). slurmd runs it as root with only SLURMD_NODENAME set, every HealthCheckInterval,
# and kills it after 60 s; envcheck ends inside --deadline, drains this node when it is not
# ready and resumes it from its own drain. Install it as /etc/slurm/envcheck-health.sh, mode 0755.
#   ENVCHECK: the envcheck of a venv on every node (`pip install gpu-envkit`, no torch needed
#             with --no-torch; give it the training venv's torch with --python instead).
#   EXPECT:   expectations (gpu_count, min_driver, ...), used when the file exists.
#   TEXTFILE: node_exporter's textfile folder; metrics are written when it exists.
ENVCHECK=${ENVCHECK:-/opt/gpu-envkit/bin/envcheck}
EXPECT=${EXPECT:-/etc/gpu-envkit/expect.toml}
TEXTFILE=${TEXTFILE:-/var/lib/node_exporter/textfile}
set --
[ -f "$EXPECT" ] && set -- "$@" --expect "$EXPECT"
[ -d "$TEXTFILE" ] && set -- "$@" --prom "$TEXTFILE/envcheck.prom"
exec "$ENVCHECK" slurm health --deadline 50 --log /var/log/envcheck-health.log "$@"
