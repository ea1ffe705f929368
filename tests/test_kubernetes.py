"""deploy/kubernetes, validated offline, and `envcheck npd` (node-problem-detector's plugin).

Every document of every manifest is validated against the official Kubernetes JSON schemas of
KUBERNETES_VERSION that the kubernetes-validate package bundles (strict: an unknown or misspelt
field fails, which a plain `kubectl apply` would drop with only a warning). Then what the
schemas cannot say: the pods' security settings, how they reach the GPUs, that their envcheck
command lines are real options, and that the NPD monitor config is one NPD accepts and that
`envcheck npd` ends inside its timeout. `envcheck npd` itself runs for real, as NPD runs it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from envcheck import health, npd
from envcheck.cli import check_cmd, main
from envcheck.images import entrypoint, pins
from tests.conftest import ROOT, run_envcheck

# The oldest Kubernetes these manifests promise to work on (runtimeClassName, Job TTLs, the
# sizeLimit of memory-backed emptyDirs and seccompProfile are all GA by then), and the newest
# whose schemas the installed kubernetes-validate bundles (an API a later release drops fails).
KUBERNETES_VERSION = "1.30"
NEWEST = ".".join(kubernetes_validate.latest_version().split(".")[:2])

DEPLOY = ROOT / "deploy" / "kubernetes"
NPD_DIR = DEPLOY / "node-problem-detector"
MONITOR = NPD_DIR / "envcheck-monitor.json"
MANIFESTS = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))
PROM_DIR = "/var/lib/node_exporter/textfile"
GPU = "nvidia.com/gpu"
# Where the images install envcheck (docker/Dockerfile: `python3 -m venv /opt/venv`).
IMAGE_ENVCHECK = "/opt/venv/bin/envcheck"
# Python's start-up, the imports and the judging, on top of the probes' bounded time.
STARTUP_SECONDS = 5.0


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def manifest(name: str, kind: str) -> dict[str, Any]:
    (doc,) = [d for d in documents(DEPLOY / name) if d["kind"] == kind]
    return doc


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] in ("DaemonSet", "Job", "Deployment", "StatefulSet"):
                yield (
                    f"{path.relative_to(DEPLOY)}:{doc['metadata']['name']}",
                    doc["spec"]["template"]["spec"],
                )


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def mounts_of(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    return {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}


def is_envkit_image(container: dict[str, Any]) -> bool:
    return container["image"].rsplit("/", 1)[-1].startswith("gpu-envkit:")


# --- schemas ------------------------------------------------------------------------------


def test_the_manifests_are_all_there():
    names = {str(p.relative_to(DEPLOY)) for p in MANIFESTS}
    assert names == {
        "namespace.yaml",
        "daemonset.yaml",
        "job.yaml",
        "node-problem-detector/configmap.yaml",
        "node-problem-detector/daemonset.yaml",
    }


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, NEWEST])
@pytest.mark.parametrize(
    ("path", "index"),
    [(p, i) for p in MANIFESTS for i in range(len(documents(p)))],
    ids=lambda v: str(v.relative_to(DEPLOY)) if isinstance(v, Path) else str(v),
)
def test_every_document_validates_against_the_kubernetes_schema(path, index, version):
    doc = documents(path)[index]
    # Raises ValidationError (a field wrong), SchemaNotFoundError (a kind or apiVersion this
    # Kubernetes does not serve), never passes a document it has no schema for.
    assert kubernetes_validate.validate(doc, version, strict=True) == version


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("securityContext", "runAsNonroot"), True),  # misspelt: kubectl would drop it
        (("securityContext", "runAsUser"), "10001"),  # a string where an integer goes
        (("runtimeClass",), "nvidia"),  # not a field of a pod
    ],
)
def test_the_validator_is_not_vacuous(where, value):
    doc = copy.deepcopy(manifest("daemonset.yaml", "DaemonSet"))
    target = doc["spec"]["template"]["spec"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_an_unknown_kind_is_an_error_not_a_pass():
    doc = {"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


# --- every pod ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "spec"), list(pod_specs()), ids=lambda v: v)
def test_every_pod_runs_locked_down(name, spec):
    pod = spec.get("securityContext", {})
    assert pod.get("runAsNonRoot") is True and pod.get("runAsUser", 0) > 0
    assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
    for c in containers(spec):
        sc = c.get("securityContext", {})
        assert sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) > 0, c["name"]
        assert sc.get("readOnlyRootFilesystem") is True, c["name"]
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], c["name"]
        assert not sc.get("capabilities", {}).get("add"), c["name"]
        assert not sc.get("privileged"), c["name"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c.get("resources", {}).get(kind, {})), (c["name"], kind)
        assert c.get("imagePullPolicy") == "IfNotPresent"


@pytest.mark.parametrize(("name", "spec"), list(pod_specs()), ids=lambda v: v)
def test_every_pod_lands_on_gpu_nodes_with_the_nvidia_runtime(name, spec):
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert spec["runtimeClassName"] == "nvidia"
    assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    for c in spec["containers"]:
        if is_envkit_image(c):
            # Read-only root: the caches torch and CUDA write go to a writable /tmp.
            assert env_of(c).get("HOME") == "/tmp"
            assert "emptyDir" in mounts_of(spec, c)["/tmp"]
            shm = mounts_of(spec, c)["/dev/shm"]["emptyDir"]
            assert shm["medium"] == "Memory" and shm["sizeLimit"] == "1Gi"  # container.shm


def test_the_gpu_envkit_images_are_ones_the_project_builds():
    tags = {p.tag for p in pins.load(pins.PINS)[0]}
    used = [c["image"] for _, spec in pod_specs() for c in containers(spec) if is_envkit_image(c)]
    assert used and set(used) <= tags


def test_the_image_installs_envcheck_where_the_manifests_call_it():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert "python3 -m venv /opt/venv" in dockerfile and IMAGE_ENVCHECK.startswith("/opt/venv/")
    assert "USER 10001:10001" in dockerfile  # the runAsUser the manifests set


# --- the DaemonSet ------------------------------------------------------------------------


def daemonset_spec() -> dict[str, Any]:
    return manifest("daemonset.yaml", "DaemonSet")["spec"]["template"]["spec"]


def test_the_daemonset_takes_no_gpu_and_sees_all_of_them():
    spec = daemonset_spec()
    for c in containers(spec):
        for kind in ("requests", "limits"):
            assert not [r for r in c.get("resources", {}).get(kind, {}) if r.startswith("nvidia.")]
    (c,) = spec["containers"]
    env = env_of(c)
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert "compute" in env["NVIDIA_DRIVER_CAPABILITIES"]
    assert "utility" in env["NVIDIA_DRIVER_CAPABILITIES"]  # NVML
    assert spec["automountServiceAccountToken"] is False


def test_the_daemonset_writes_its_metrics_into_the_host_textfile_folder():
    spec = daemonset_spec()
    (c,) = spec["containers"]
    args = c["args"]
    prom = args[args.index("--prom") + 1]
    assert prom == f"{PROM_DIR}/envcheck.prom"
    volume = mounts_of(spec, c)[PROM_DIR]
    assert volume["hostPath"] == {"path": PROM_DIR, "type": "Directory"}
    # Nothing else of the host is mounted.
    assert [v["name"] for v in spec["volumes"] if "hostPath" in v] == [volume["name"]]


def test_the_daemonset_loop_runs_a_real_envcheck_command_line():
    (c,) = daemonset_spec()["containers"]
    command, args = c["command"], c["args"]
    # bash -c SCRIPT NAME ARGS...: the script runs "$@", the envcheck command line in args.
    assert command[:2] == ["/bin/bash", "-c"] and len(command) == 4
    script = command[2]
    assert '"$@" &' in script and "sleep" in script and "trap" in script
    assert "ENVCHECK_INTERVAL" in script and env_of(c)["ENVCHECK_INTERVAL"].isdigit()
    assert args[:2] == [IMAGE_ENVCHECK, "check"]
    ctx = check_cmd.make_context("check", list(args[2:]))  # a typo'd option fails here
    assert ctx.params["smoke"] is False  # no CUDA work on GPUs that run jobs
    assert ctx.params["expect_file"] == entrypoint.EXPECT
    assert ctx.params["prom"] == f"{PROM_DIR}/envcheck.prom"


def test_the_daemonset_loop_is_valid_bash_that_forwards_sigterm(tmp_path):
    """The loop itself, run by bash with a stand-in for envcheck: it runs the command line it
    is given, repeats it, and a SIGTERM ends it at once with exit 0."""
    import signal
    import subprocess

    (c,) = daemonset_spec()["containers"]
    log = tmp_path / "runs"
    fake = tmp_path / "envcheck"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\nexit 1\n')
    fake.chmod(0o755)
    env = {**os.environ, "ENVCHECK_INTERVAL": "0.2"}
    proc = subprocess.Popen([*c["command"], str(fake), "check", "--no-smoke"], env=env)
    try:
        deadline = time.monotonic() + 10
        while (not log.exists() or len(log.read_text().splitlines()) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
    runs = log.read_text().splitlines()
    assert len(runs) >= 2 and set(runs) == {"check --no-smoke"}


# --- the Job ------------------------------------------------------------------------------


def test_the_job_takes_one_gpu_through_the_device_plugin():
    job = manifest("job.yaml", "Job")
    spec = job["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    resources = c["resources"]
    assert resources["limits"][GPU] == 1
    assert resources["requests"].get(GPU, 1) == 1  # extended resources: requests == limits
    # The device plugin, not the pod, says which GPU it sees: NVIDIA_VISIBLE_DEVICES set in
    # the pod would override the plugin's.
    assert "NVIDIA_VISIBLE_DEVICES" not in env_of(c)
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert spec["restartPolicy"] == "Never"


def test_the_job_runs_envcheck_with_a_json_report():
    (c,) = manifest("job.yaml", "Job")["spec"]["template"]["spec"]["containers"]
    assert "command" not in c  # the image's entry point, with its pins as expectations
    cmd = entrypoint.command(c["args"])
    assert cmd[1:4] == ["-m", "envcheck", "check"]
    assert "--json" in cmd and entrypoint.EXPECT in cmd
    check_cmd.make_context("check", cmd[4:])


# --- node-problem-detector ----------------------------------------------------------------

# Every key NPD's custom plugin monitor reads (pkg/custompluginmonitor/types): Go's JSON decoder
# ignores any other, so a misspelt key would silently fall back to NPD's default.
NPD_TOP = {"plugin", "pluginConfig", "source", "conditions", "rules", "metricsReporting"}
NPD_PLUGIN_CONFIG = {
    "invoke_interval",
    "timeout",
    "max_output_length",
    "concurrency",
    "enable_message_change_based_condition_update",
    "skip_initial_status",
}
NPD_CONDITION = {"type", "reason", "message"}
NPD_RULE = {"type", "condition", "reason", "path", "args", "timeout", "invoke_interval"}
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_seconds(text: str) -> float:
    """A Go time.ParseDuration string ("60s", "1m30s") in seconds."""
    assert _GO_DURATION.fullmatch(text), f"{text!r} is not a Go duration"
    return sum(
        float(n) * _UNIT[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    )


def monitor() -> dict[str, Any]:
    return json.loads(MONITOR.read_text())


def test_the_monitor_config_is_one_npd_accepts():
    config = monitor()
    assert set(config) <= NPD_TOP and {"plugin", "source", "conditions", "rules"} <= set(config)
    assert config["plugin"] == "custom"
    plugin = config["pluginConfig"]
    assert set(plugin) <= NPD_PLUGIN_CONFIG
    assert plugin["concurrency"] == 1
    # NPD cuts the condition message at max_output_length bytes: ours is never longer.
    assert plugin["max_output_length"] >= npd.MAX_BYTES
    global_timeout = go_seconds(plugin["timeout"])
    assert go_seconds(plugin["invoke_interval"]) > global_timeout
    conditions = {c["type"]: c for c in config["conditions"]}
    for condition in config["conditions"]:
        assert set(condition) == NPD_CONDITION and all(condition.values())
    for rule in config["rules"]:
        assert set(rule) <= NPD_RULE
        assert rule["type"] in ("permanent", "temporary")
        # NPD refuses a rule timeout above the global one, and a permanent rule whose
        # condition has no default.
        assert go_seconds(rule.get("timeout", plugin["timeout"])) <= global_timeout
        if rule["type"] == "permanent":
            assert rule["condition"] in conditions
            assert rule["reason"] != conditions[rule["condition"]]["reason"]


def test_the_condition_reads_true_for_a_problem():
    """NPD sets a custom plugin's condition True when the plugin exits 1, so it is named for
    the problem (like KernelDeadlock), and the ready state is its default reason."""
    (condition,) = monitor()["conditions"]
    assert condition["type"] == "GPUEnvProblem"
    assert condition["reason"] == "GPUEnvReady"
    (rule,) = monitor()["rules"]
    assert rule["condition"] == "GPUEnvProblem" and rule["reason"] == "GPUEnvNotReady"


def npd_rule_context() -> click.Context:
    (rule,) = monitor()["rules"]
    assert rule["path"] == IMAGE_ENVCHECK and rule["args"][0] == "npd"
    return npd.npd_cmd.make_context("npd", list(rule["args"][1:]))


def test_the_plugin_ends_by_itself_inside_npds_timeout():
    """NPD SIGKILLs an overrunning plugin's process group, which envcheck's probe children (in
    sessions of their own) would outlive: envcheck npd must end first, by itself."""
    from envcheck.collect import Options

    params = npd_rule_context().params
    options = Options(
        timeout=params["timeout"],
        torch=params["with_torch"],
        torch_timeout=params["torch_timeout"],
        smoke=params["smoke"],
        smoke_timeout=params["smoke_timeout"],
    )
    (rule,) = monitor()["rules"]
    npd_timeout = go_seconds(rule["timeout"])
    assert health.worst_case_seconds(options) + STARTUP_SECONDS <= params["limit_seconds"]
    assert params["limit_seconds"] + STARTUP_SECONDS <= npd_timeout
    assert params["expect_file"] == entrypoint.EXPECT  # the image's own pins


def test_the_configmap_carries_the_monitor_config_verbatim():
    config_map = manifest("node-problem-detector/configmap.yaml", "ConfigMap")
    assert config_map["data"]["envcheck-monitor.json"] == MONITOR.read_text()


def test_the_npd_daemonset_runs_npd_with_the_monitor_inside_the_envkit_image():
    docs = documents(NPD_DIR / "daemonset.yaml")
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet"]
    (sa,) = [d for d in docs if d["kind"] == "ServiceAccount"]
    (binding,) = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    config_map = manifest("node-problem-detector/configmap.yaml", "ConfigMap")
    spec = ds["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    (c,) = spec["containers"]
    # NPD runs its plugin in its own container: it must be the image envcheck is in.
    assert is_envkit_image(c)
    assert init["image"].startswith("registry.k8s.io/node-problem-detector/node-problem-detector:")
    binary = c["command"][0]
    assert init["command"] == ["cp", "/node-problem-detector", binary]
    assert Path(binary).parent.as_posix() in mounts_of(spec, init)
    assert "emptyDir" in mounts_of(spec, c)[Path(binary).parent.as_posix()]
    (flag,) = [a for a in c["command"] if a.startswith("--config.custom-plugin-monitor=")]
    path = Path(flag.split("=", 1)[1])
    volume = mounts_of(spec, c)[path.parent.as_posix()]["configMap"]
    assert volume["name"] == config_map["metadata"]["name"]
    assert {"key": path.name, "path": path.name} in volume["items"]
    assert path.name in config_map["data"]
    assert config_map["metadata"]["namespace"] == ds["metadata"]["namespace"]
    # NPD patches the node's status as its own service account.
    assert spec["serviceAccountName"] == sa["metadata"]["name"]
    assert binding["roleRef"]["name"] == "system:node-problem-detector"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "gpu-envkit"}
    ]
    assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in c[
        "env"
    ]
    assert env_of(c)["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert not [r for r in c["resources"]["limits"] if r.startswith("nvidia.")]


# --- envcheck npd, for real ---------------------------------------------------------------


def npd_line(proc) -> str:
    """The plugin's whole stdout: exactly one line, at most 80 bytes, never a traceback."""
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout.endswith("\n") and proc.stdout.count("\n") == 1, repr(proc.stdout)
    line = proc.stdout[:-1]
    assert 0 < len(line.encode()) <= npd.MAX_BYTES, line
    assert line.startswith("envcheck: ")
    return line


def test_npd_on_this_gpu_less_machine_is_not_ready(tmp_path):
    import ctypes.util

    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has an NVIDIA driver")
    proc = run_envcheck("npd", env={**os.environ, "LD_LIBRARY_PATH": str(tmp_path)})
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK, line
    assert line.startswith("envcheck: driver.present: ")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("gpu_count = [", "not valid TOML"),
        ('gpu_count = 8\nmin_drvier = "580"\n', "unknown key 'min_drvier'"),
        ('min_driver = "R580"\n', "must be a driver version"),
    ],
)
def test_npd_with_a_bad_expect_file_cannot_tell(tmp_path, content, words):
    path = tmp_path / "expect.toml"
    path.write_text(content)
    proc = run_envcheck("npd", "--no-torch", "--expect", str(path))
    line = npd_line(proc)
    assert proc.returncode == npd.UNKNOWN
    assert line.startswith("envcheck: bad --expect: ")
    # A long path leaves less room; the key is still named where it fits.
    assert words in line or line.endswith("...")


def test_npd_with_a_missing_expect_file_under_a_long_path_is_still_one_short_line(tmp_path):
    proc = run_envcheck("npd", "--no-torch", "--expect", str(tmp_path / ("x" * 300) / "e.toml"))
    line = npd_line(proc)
    assert proc.returncode == npd.UNKNOWN and line.endswith("...")


@pytest.mark.parametrize("args", [["--bogus"], ["--timeout", "nan"], ["--deadline", "0"]])
def test_npd_bad_usage_is_one_line_on_stdout(args):
    proc = run_envcheck("npd", *args)
    line = npd_line(proc)
    assert proc.returncode == npd.UNKNOWN
    assert line.startswith("envcheck: bad usage: ")


def test_npd_on_a_healthy_h100_is_ready(fake_nvml):
    proc = run_envcheck("npd", "--no-torch", env=fake_nvml("one_h100_r580"))
    line = npd_line(proc)
    assert proc.returncode == npd.OK, line
    assert re.fullmatch(r"envcheck: ready: .*\d+ passed.*", line)


def test_npd_names_the_check_that_fails_cpu_torch_on_a_gpu_host(fake_nvml):
    """The venv's CPU torch on a machine with an H100: torch.cuda_build fails."""
    proc = run_envcheck("npd", env=fake_nvml("one_h100_r580"))
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK, line
    assert line.startswith("envcheck: torch.cuda_build: ")


@pytest.mark.parametrize(
    ("scenario", "check"),
    [
        ("driver_library_mismatch", "driver.present"),
        ("driver_not_loaded", "driver.present"),
        ("gpu_lost", "driver.present"),
    ],
)
def test_npd_reports_a_broken_driver_as_a_problem(fake_nvml, scenario, check):
    proc = run_envcheck("npd", "--no-torch", env=fake_nvml(scenario))
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK
    assert line.startswith(f"envcheck: {check}: ")


def test_npd_judges_expectations(fake_nvml, tmp_path):
    path = tmp_path / "expect.toml"
    path.write_text('gpu_count = 8\ngpu_name = "H200"\n')
    proc = run_envcheck("npd", "--no-torch", "--expect", str(path), env=fake_nvml("one_h100_r580"))
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK
    assert line.startswith("envcheck: expect.gpu_count: ") and line.endswith("(+1 more)")


def test_npd_strict_counts_warnings(fake_nvml):
    env = fake_nvml("degraded")
    proc = run_envcheck("npd", "--no-torch", env=env)
    assert npd_line(proc).startswith("envcheck: ready: ") and proc.returncode == npd.OK
    proc = run_envcheck("npd", "--no-torch", "--strict", env=env)
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK
    assert re.match(r"envcheck: gpu\.(memory|pcie|throttle): ", line)


def test_npd_a_hung_driver_is_a_problem_not_unknown(fake_nvml):
    """A probe that times out inside the deadline is what it says about the machine."""
    proc = run_envcheck("npd", "--no-torch", "--timeout", "1", env=fake_nvml("hang_init"))
    line = npd_line(proc)
    assert proc.returncode == npd.NON_OK
    assert line.startswith("envcheck: driver.present: ")


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (children inherit it; orphans too)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                state = (environ.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def test_npd_past_its_deadline_stops_every_probe_and_cannot_tell(fake_nvml):
    env = fake_nvml("hang_init")
    marker = f"FAKE_NVML_CONFIG={env['FAKE_NVML_CONFIG']}"
    start = time.monotonic()
    proc = run_envcheck(
        "npd", "--no-torch", "--timeout", "60", "--deadline", "2", env=env, timeout=30
    )
    elapsed = time.monotonic() - start
    line = npd_line(proc)
    assert proc.returncode == npd.UNKNOWN
    assert line == "envcheck: no verdict within 2 s"
    assert elapsed < 2 + STARTUP_SECONDS, f"took {elapsed:.1f} s"
    time.sleep(0.2)
    assert not _processes_with(marker), "a probe child outlived the plugin"


def test_npd_when_envcheck_itself_fails_answers_unknown_in_one_line(monkeypatch):
    import envcheck.collect

    def broken(options):
        raise RuntimeError("a bug\nwith a second line " + "x" * 200)

    monkeypatch.setattr(envcheck.collect, "collect", broken)
    result = CliRunner().invoke(main, ["npd", "--no-torch"])
    assert result.exit_code == npd.UNKNOWN
    assert result.output.count("\n") == 1
    line = result.output[:-1]
    assert line.startswith("envcheck: envcheck failed: RuntimeError: a bug with a second line")
    assert len(line.encode()) <= npd.MAX_BYTES and line.endswith("...")
    with pytest.raises(RuntimeError):
        CliRunner().invoke(main, ["npd", "--no-torch", "--debug"], catch_exceptions=False)


def test_npd_help_names_the_protocol():
    proc = run_envcheck("npd", "--help")
    assert proc.returncode == 0
    assert "node-problem-detector" in proc.stdout and "--deadline" in proc.stdout


@pytest.mark.parametrize(
    "text",
    ["ready: 12 passed", "é" * 100, "a\x1b[2Jb\nc\td", "x" * 79],
    ids=["short", "multi-byte", "controls", "just-over"],
)
def test_one_line_is_printable_and_within_the_byte_limit(text):
    line = npd.one_line(text)
    assert "\n" not in line and "\x1b" not in line and "\t" not in line
    assert len(line.encode()) <= npd.MAX_BYTES
    line.encode().decode()  # never a cut multi-byte character


def test_the_h200_fixture_is_ready_in_one_line(h200_facts, monkeypatch):
    from envcheck import expect
    from envcheck.collect import Options
    from envcheck.report import judge

    h200 = judge(h200_facts, expect.Expectations())
    monkeypatch.setattr(health, "judge_within", lambda *args: h200)
    outcome = health.check(Options(), None, False, 50, npd.MAX_BYTES)
    assert outcome.code == npd.OK and outcome.line.startswith("envcheck: ready: ")


def test_the_envcheck_pods_name_their_node_not_themselves():
    """A pod's host name is the pod's: the reports a fleet table merges must carry the node's
    name, which envcheck reads from ENVCHECK_NODE_NAME (collect.NODE_NAME_VARIABLES)."""
    from envcheck.collect import NODE_NAME_VARIABLES

    assert "ENVCHECK_NODE_NAME" in NODE_NAME_VARIABLES
    for where, spec in pod_specs():
        for c in spec["containers"]:
            if is_envkit_image(c) and "node-problem-detector" not in where:  # no report there
                (entry,) = [e for e in c["env"] if e["name"] == "ENVCHECK_NODE_NAME"]
                assert entry["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName", where
