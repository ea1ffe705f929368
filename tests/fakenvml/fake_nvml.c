/*
 * fake_nvml.c - a stand-in libnvidia-ml.so.1 for tests on machines without a GPU.
 *
 * The real pynvml loads this with CDLL("libnvidia-ml.so.1") when its directory is
 * first on LD_LIBRARY_PATH.  nvmlInit reads the file named by $FAKE_NVML_CONFIG
 * ("key = value" lines, '#' comments; see tests/fakenvml/__init__.py for the keys)
 * and every query answers from it, with the real NVML return codes.
 *
 * Semantics worth knowing:
 *   - a config problem (unset/missing/unreadable file, unknown key, bad value)
 *     makes nvmlInit return NVML_ERROR_UNKNOWN and prints why on stderr;
 *   - any gpu.N.<field> (and the system keys) may be "not_supported" or
 *     "no_permission"; a missing gpu field answers NVML_ERROR_NOT_SUPPORTED;
 *   - gpu.N.state = lost: the handle is still handed out, every query on it
 *     returns NVML_ERROR_GPU_IS_LOST; state = hang: every query on it blocks;
 *   - init = hang blocks inside nvmlInit.  Blocking means forever: the caller
 *     must kill the process.
 * Not thread-safe; tests query from one thread.
 */
#define _POSIX_C_SOURCE 200809L /* pause, strtok_r */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the slice of nvml.h this library implements ------------------------------ */

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

typedef unsigned int nvmlEnableState_t; /* an enum in nvml.h: int-sized */
typedef struct nvmlDevice_st *nvmlDevice_t;

#define NVML_TEMPERATURE_GPU 0

typedef struct {
    char busIdLegacy[16]; /* "%04X:%02X:%02X.0" */
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId; /* device id << 16 | vendor id */
    unsigned int pciSubSystemId;
    char busId[32]; /* "%08X:%02X:%02X.0" */
} nvmlPciInfo_t;

typedef struct {
    unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

/* nvmlGpuFabricInfo_t: the NVLink fabric registration (NVSwitch systems, Hopper and newer). */
#define NVML_GPU_FABRIC_UUID_LEN 16
typedef struct {
    unsigned char clusterUuid[NVML_GPU_FABRIC_UUID_LEN];
    nvmlReturn_t status; /* meaningful only once state is COMPLETED */
    unsigned int cliqueId;
    unsigned char state; /* nvmlGpuFabricState_t: 0 not supported .. 3 completed */
} nvmlGpuFabricInfo_t;

/* NVML_STRUCT_VERSION(Memory, 2): sizeof in the low bits, version in the top byte. */
#define nvmlMemory_v2 ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

#define API __attribute__((visibility("default")))

/* ---- configuration -------------------------------------------------------------- */

#define MAX_GPUS 32
#define MAX_STR 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE, the largest string NVML hands out */
#define MAX_NUMS 4

/* How a value is parsed: a string, exactly n numbers split by sep, or an OR of
 * '|'-separated numbers (clock event reason masks). */
enum kind { K_STR, K_NUMS, K_MASK };

typedef struct {
    const char *key;
    enum kind kind;
    int n;
    char sep;
} field_spec;

enum field_id {
    F_NAME, F_UUID, F_PCI_BUS_ID, F_PCI_DEVICE_ID, F_CC, F_MEM_TOTAL, F_MEM_USED, F_MIG,
    F_ECC, F_REMAPPED, F_RETIRED, F_PCIE, F_POWER, F_TEMP, F_REASONS, F_PERSIST, F_FABRIC,
    F_COUNT,
    /* system-wide keys share the same storage */
    S_DRIVER = F_COUNT, S_CUDA, S_NVML, S_COUNT
};

static const field_spec SPECS[S_COUNT] = {
    [F_NAME] = {"name", K_STR, 0, 0},
    [F_UUID] = {"uuid", K_STR, 0, 0},
    [F_PCI_BUS_ID] = {"pci_bus_id", K_STR, 0, 0},
    [F_PCI_DEVICE_ID] = {"pci_device_id", K_NUMS, 1, 0},
    [F_CC] = {"cc", K_NUMS, 2, '.'},
    [F_MEM_TOTAL] = {"memory_total_mib", K_NUMS, 1, 0},
    [F_MEM_USED] = {"memory_used_mib", K_NUMS, 1, 0},
    [F_MIG] = {"mig", K_NUMS, 2, ','},
    [F_ECC] = {"ecc", K_NUMS, 2, ','},
    [F_REMAPPED] = {"remapped_rows", K_NUMS, 4, ','},
    [F_RETIRED] = {"retired_pages_pending", K_NUMS, 1, 0},
    [F_PCIE] = {"pcie", K_NUMS, 4, ','},
    [F_POWER] = {"power_limit_mw", K_NUMS, 1, 0},
    [F_TEMP] = {"temperature", K_NUMS, 1, 0},
    [F_REASONS] = {"clock_event_reasons", K_MASK, 0, '|'},
    [F_PERSIST] = {"persistence", K_NUMS, 1, 0},
    [F_FABRIC] = {"fabric", K_NUMS, 2, ','}, /* state, status */
    [S_DRIVER] = {"driver_version", K_STR, 0, 0},
    [S_CUDA] = {"cuda_driver_version", K_NUMS, 1, 0},
    [S_NVML] = {"nvml_version", K_STR, 0, 0},
};

typedef struct {
    int set;          /* present in the config */
    nvmlReturn_t err; /* not_supported / no_permission, else NVML_SUCCESS */
    char str[MAX_STR];
    unsigned long long num[MAX_NUMS];
} field_t;

enum dev_state { ST_OK, ST_LOST, ST_HANG };
enum init_mode {
    INIT_OK, INIT_HANG, INIT_DRIVER_NOT_LOADED, INIT_MISMATCH, INIT_NO_PERMISSION, INIT_UNKNOWN
};

/* A handle is a pointer to one of these; the struct tag makes it an nvmlDevice_t. */
struct nvmlDevice_st {
    int present;
    enum dev_state state;
    unsigned int pci_domain, pci_bus, pci_device;
    field_t f[F_COUNT];
};

static struct nvmlDevice_st g_dev[MAX_GPUS];
static unsigned int g_count;
static field_t g_sys[S_COUNT]; /* only S_* slots are used */
static int g_refcount;         /* nvmlInit/nvmlShutdown nest, as in real NVML */

static void __attribute__((noreturn)) hang_forever(void)
{
    for (;;)
        pause(); /* returns after a caught signal; SIGKILL ends it */
}

static int config_error(const char *path, int line, const char *msg, const char *what)
{
    fprintf(stderr, "fake_nvml: %s:%d: %s%s%s\n", path ? path : "$FAKE_NVML_CONFIG", line, msg,
            what ? ": " : "", what ? what : "");
    return -1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Decimal, or hex with 0x (never octal: "08" means 8). */
static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    while (*s == ' ')
        s++;
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (*s == '\0' || *s == '-')
        return -1;
    *out = strtoull(s, &end, hex ? 16 : 10);
    while (*end == ' ')
        end++;
    return *end == '\0' && end != s ? 0 : -1;
}

/* Parse value into f according to spec; 0 on success. */
static int parse_field(const field_spec *spec, char *value, field_t *f)
{
    memset(f, 0, sizeof(*f));
    f->set = 1;
    if (strcmp(value, "not_supported") == 0) {
        f->err = NVML_ERROR_NOT_SUPPORTED;
        return 0;
    }
    if (strcmp(value, "no_permission") == 0) {
        f->err = NVML_ERROR_NO_PERMISSION;
        return 0;
    }
    if (spec->kind == K_STR) {
        if (strlen(value) >= MAX_STR)
            return -1;
        strcpy(f->str, value);
        return 0;
    }
    /* K_NUMS / K_MASK: split on the separator */
    int count = 0;
    char *save = NULL;
    char seps[2] = {spec->sep ? spec->sep : '\n', '\0'};
    for (char *tok = strtok_r(value, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        unsigned long long v;
        if (parse_u64(tok, &v) != 0)
            return -1;
        if (spec->kind == K_MASK) {
            f->num[0] |= v;
        } else {
            if (count >= spec->n)
                return -1;
            f->num[count] = v;
        }
        count++;
    }
    return spec->kind == K_MASK ? (count > 0 ? 0 : -1) : (count == spec->n ? 0 : -1);
}

static int find_spec(const char *key, int first, int last)
{
    for (int i = first; i < last; i++)
        if (strcmp(SPECS[i].key, key) == 0)
            return i;
    return -1;
}

/* Read $FAKE_NVML_CONFIG into the globals; 0 on success, -1 (already reported) on error. */
static int load_config(enum init_mode *mode)
{
    const char *path = getenv("FAKE_NVML_CONFIG");
    if (!path || !*path)
        return config_error(NULL, 0, "FAKE_NVML_CONFIG is not set", NULL);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return config_error(path, 0, "cannot open config file", NULL);

    memset(g_dev, 0, sizeof(g_dev));
    memset(g_sys, 0, sizeof(g_sys));
    g_count = 0;
    *mode = INIT_OK;

    char buf[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), fp)) {
        lineno++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *line = trim(buf);
        if (!*line)
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = config_error(path, lineno, "expected 'key = value'", line);
            break;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);

        if (strcmp(key, "init") == 0) {
            static const char *const modes[] = {"ok", "hang", "driver_not_loaded",
                                                "lib_rm_version_mismatch", "no_permission",
                                                "unknown_error"};
            int found = 0;
            for (int m = 0; m < (int)(sizeof(modes) / sizeof(modes[0])); m++)
                if (strcmp(value, modes[m]) == 0) {
                    *mode = (enum init_mode)m;
                    found = 1;
                }
            if (!found)
                rc = config_error(path, lineno, "bad init value", value);
        } else if (strncmp(key, "gpu.", 4) == 0) {
            /* gpu.N.field */
            char *end;
            unsigned long n = strtoul(key + 4, &end, 10);
            if (end == key + 4 || *end != '.' || n >= MAX_GPUS) {
                rc = config_error(path, lineno, "bad gpu key", key);
                break;
            }
            struct nvmlDevice_st *d = &g_dev[n];
            const char *field = end + 1;
            d->present = 1;
            if (n + 1 > g_count)
                g_count = (unsigned int)n + 1;
            if (strcmp(field, "state") == 0) {
                if (strcmp(value, "ok") == 0)
                    d->state = ST_OK;
                else if (strcmp(value, "lost") == 0)
                    d->state = ST_LOST;
                else if (strcmp(value, "hang") == 0)
                    d->state = ST_HANG;
                else
                    rc = config_error(path, lineno, "bad state", value);
                continue;
            }
            int id = find_spec(field, 0, F_COUNT);
            if (id < 0) {
                rc = config_error(path, lineno, "unknown gpu field", field);
                break;
            }
            if (parse_field(&SPECS[id], value, &d->f[id]) != 0) {
                rc = config_error(path, lineno, "bad value for", key);
                break;
            }
            if (id == F_PCI_BUS_ID && d->f[id].err == NVML_SUCCESS &&
                (strlen(d->f[id].str) > 31 ||
                 sscanf(d->f[id].str, "%x:%x:%x.", &d->pci_domain, &d->pci_bus, &d->pci_device) != 3))
                rc = config_error(path, lineno, "pci_bus_id must look like 00000000:19:00.0", value);
        } else {
            int id = find_spec(key, F_COUNT, S_COUNT);
            if (id < 0)
                rc = config_error(path, lineno, "unknown key", key);
            else if (parse_field(&SPECS[id], value, &g_sys[id]) != 0)
                rc = config_error(path, lineno, "bad value for", key);
        }
    }
    fclose(fp);
    if (rc != 0)
        return rc;

    /* Device count = number of distinct N, so the indices must be 0..count-1. */
    for (unsigned int i = 0; i < g_count; i++)
        if (!g_dev[i].present)
            return config_error(path, 0, "gpu indices must be contiguous from 0", NULL);

    /* Defaults for the system keys (a recent R580 host). */
    static const char *const defaults[][2] = {
        {"driver_version", "580.95.05"}, {"cuda_driver_version", "13000"},
        {"nvml_version", "13.580.95.05"}};
    for (int i = 0; i < 3; i++) {
        int id = find_spec(defaults[i][0], F_COUNT, S_COUNT);
        char tmp[MAX_STR];
        if (!g_sys[id].set) {
            snprintf(tmp, sizeof(tmp), "%s", defaults[i][1]);
            parse_field(&SPECS[id], tmp, &g_sys[id]);
        }
    }
    return 0;
}

/* ---- helpers shared by the queries ------------------------------------------------ */

static nvmlReturn_t copy_str(char *dst, unsigned int length, const char *src)
{
    if (!dst)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > length)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

static nvmlReturn_t sys_field(int id, int args_ok, const field_t **out)
{
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!args_ok)
        return NVML_ERROR_INVALID_ARGUMENT;
    *out = &g_sys[id];
    return g_sys[id].err;
}

/* Validate the handle, apply the device's state, then look the field up.
 * Order: uninitialized > bad handle/argument > hang/lost > field status. */
static nvmlReturn_t dev_field(nvmlDevice_t h, int id, int args_ok, const field_t **out)
{
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    uintptr_t p = (uintptr_t)h, base = (uintptr_t)g_dev;
    if (!h || p < base || p >= base + g_count * sizeof(g_dev[0]) ||
        (p - base) % sizeof(g_dev[0]) != 0 || !args_ok)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (h->state == ST_HANG)
        hang_forever();
    if (h->state == ST_LOST)
        return NVML_ERROR_GPU_IS_LOST;
    if (id < 0) /* device-level query that needs no field (nvmlDeviceGetIndex) */
        return NVML_SUCCESS;
    const field_t *f = &h->f[id];
    if (!f->set)
        return NVML_ERROR_NOT_SUPPORTED;
    *out = f;
    return f->err;
}

/* Most getters: one field, copy num[0..n) into the caller's pointers. */
#define GET_UINTS(h, id, ...)                                                  \
    do {                                                                       \
        unsigned int *outs_[] = {__VA_ARGS__};                                 \
        int n_ = (int)(sizeof(outs_) / sizeof(outs_[0])), ok_ = 1;             \
        for (int i_ = 0; i_ < n_; i_++)                                        \
            ok_ = ok_ && outs_[i_] != NULL;                                    \
        const field_t *f_ = NULL;                                              \
        nvmlReturn_t r_ = dev_field((h), (id), ok_, &f_);                      \
        if (r_ != NVML_SUCCESS)                                                \
            return r_;                                                         \
        for (int i_ = 0; i_ < n_; i_++)                                        \
            *outs_[i_] = (unsigned int)f_->num[i_];                            \
        return NVML_SUCCESS;                                                   \
    } while (0)

/* ---- init / shutdown / errors --------------------------------------------------- */

API nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    (void)flags;
    if (g_refcount > 0) { /* nested init: the config is only read the first time */
        g_refcount++;
        return NVML_SUCCESS;
    }
    enum init_mode mode;
    if (load_config(&mode) != 0)
        return NVML_ERROR_UNKNOWN;
    switch (mode) {
    case INIT_HANG:
        hang_forever();
    case INIT_DRIVER_NOT_LOADED:
        return NVML_ERROR_DRIVER_NOT_LOADED;
    case INIT_MISMATCH:
        return NVML_ERROR_LIB_RM_VERSION_MISMATCH;
    case INIT_NO_PERMISSION:
        return NVML_ERROR_NO_PERMISSION;
    case INIT_UNKNOWN: /* what a container that lost its device access gets */
        return NVML_ERROR_UNKNOWN;
    case INIT_OK:
        break;
    }
    g_refcount = 1;
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
API nvmlReturn_t nvmlInit(void) { return nvmlInitWithFlags(0); }

API nvmlReturn_t nvmlShutdown(void)
{
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    g_refcount--;
    return NVML_SUCCESS;
}

/* The strings libnvidia-ml returns (pynvml mirrors most of them). Works without init. */
API const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request.";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch.";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
    default: return "Unknown Error";
    }
}

/* ---- system queries -------------------------------------------------------------- */

API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    const field_t *f = NULL;
    nvmlReturn_t r = sys_field(S_DRIVER, version != NULL, &f);
    return r != NVML_SUCCESS ? r : copy_str(version, length, f->str);
}

API nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    const field_t *f = NULL;
    nvmlReturn_t r = sys_field(S_NVML, version != NULL, &f);
    return r != NVML_SUCCESS ? r : copy_str(version, length, f->str);
}

API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    const field_t *f = NULL;
    nvmlReturn_t r = sys_field(S_CUDA, cudaDriverVersion != NULL, &f);
    if (r == NVML_SUCCESS)
        *cudaDriverVersion = (int)f->num[0];
    return r;
}

API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return nvmlSystemGetCudaDriverVersion(cudaDriverVersion);
}

/* ---- device enumeration ---------------------------------------------------------- */

API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!deviceCount)
        return NVML_ERROR_INVALID_ARGUMENT;
    *deviceCount = g_count;
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return nvmlDeviceGetCount_v2(deviceCount);
}

/* Succeeds even for a lost or hung GPU, as on real hardware: only queries fail. */
API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (g_refcount == 0)
        return NVML_ERROR_UNINITIALIZED;
    if (!device || index >= g_count)
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &g_dev[index];
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    nvmlReturn_t r = dev_field(device, -1, index != NULL, NULL);
    if (r == NVML_SUCCESS)
        *index = (unsigned int)(device - g_dev);
    return r;
}

/* ---- device queries ------------------------------------------------------------- */

API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_NAME, name != NULL, &f);
    return r != NVML_SUCCESS ? r : copy_str(name, length, f->str);
}

API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_UUID, uuid != NULL, &f);
    return r != NVML_SUCCESS ? r : copy_str(uuid, length, f->str);
}

/* busId comes from gpu.N.pci_bus_id; pciDeviceId from the optional gpu.N.pci_device_id. */
API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_PCI_BUS_ID, pci != NULL, &f);
    if (r != NVML_SUCCESS)
        return r;
    memset(pci, 0, sizeof(*pci));
    pci->domain = device->pci_domain;
    pci->bus = device->pci_bus;
    pci->device = device->pci_device;
    const field_t *id = &device->f[F_PCI_DEVICE_ID];
    pci->pciDeviceId = id->set && id->err == NVML_SUCCESS ? (unsigned int)id->num[0] : 0;
    snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.0",
             pci->domain & 0xffffu, pci->bus & 0xffu, pci->device & 0xffu);
    snprintf(pci->busId, sizeof(pci->busId), "%.31s", f->str); /* length checked at load */
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_CC, major && minor, &f);
    if (r != NVML_SUCCESS)
        return r;
    *major = (int)f->num[0];
    *minor = (int)f->num[1];
    return NVML_SUCCESS;
}

/* total and used from the config (MiB), free = total - used; v2 reports reserved = 0. */
static nvmlReturn_t memory_bytes(nvmlDevice_t device, int args_ok, unsigned long long *total,
                                 unsigned long long *used)
{
    const field_t *t = NULL, *u = NULL;
    nvmlReturn_t r = dev_field(device, F_MEM_TOTAL, args_ok, &t);
    if (r == NVML_SUCCESS)
        r = dev_field(device, F_MEM_USED, args_ok, &u);
    if (r != NVML_SUCCESS)
        return r;
    *total = t->num[0] << 20;
    *used = u->num[0] << 20;
    return *used > *total ? NVML_ERROR_UNKNOWN : NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    unsigned long long total, used;
    nvmlReturn_t r = memory_bytes(device, memory != NULL, &total, &used);
    if (r != NVML_SUCCESS)
        return r;
    memory->total = total;
    memory->used = used;
    memory->free = total - used;
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    unsigned long long total, used;
    nvmlReturn_t r = memory_bytes(device, memory != NULL, &total, &used);
    if (r != NVML_SUCCESS)
        return r;
    if (memory->version != nvmlMemory_v2)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    memory->total = total;
    memory->reserved = 0;
    memory->used = used;
    memory->free = total - used;
    return NVML_SUCCESS;
}

API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode,
                                      unsigned int *pendingMode)
{
    GET_UINTS(device, F_MIG, currentMode, pendingMode);
}

API nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current,
                                      nvmlEnableState_t *pending)
{
    GET_UINTS(device, F_ECC, current, pending);
}

API nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows,
                                           unsigned int *uncRows, unsigned int *isPending,
                                           unsigned int *failureOccurred)
{
    GET_UINTS(device, F_REMAPPED, corrRows, uncRows, isPending, failureOccurred);
}

API nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device,
                                                        nvmlEnableState_t *isPending)
{
    GET_UINTS(device, F_RETIRED, isPending);
}

/* gpu.N.pcie = curr gen, max gen, curr width, max width: each getter picks one. */
static nvmlReturn_t pcie_part(nvmlDevice_t device, int which, unsigned int *out)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_PCIE, out != NULL, &f);
    if (r == NVML_SUCCESS)
        *out = (unsigned int)f->num[which];
    return r;
}

API nvmlReturn_t nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t device, unsigned int *gen)
{
    return pcie_part(device, 0, gen);
}

API nvmlReturn_t nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t device, unsigned int *gen)
{
    return pcie_part(device, 1, gen);
}

API nvmlReturn_t nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t device, unsigned int *width)
{
    return pcie_part(device, 2, width);
}

API nvmlReturn_t nvmlDeviceGetMaxPcieLinkWidth(nvmlDevice_t device, unsigned int *width)
{
    return pcie_part(device, 3, width);
}

API nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int *limit)
{
    GET_UINTS(device, F_POWER, limit);
}

/* Only the GPU die sensor exists (NVML_TEMPERATURE_GPU); anything else is invalid. */
API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType,
                                          unsigned int *temp)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_TEMP, temp && sensorType == NVML_TEMPERATURE_GPU, &f);
    if (r == NVML_SUCCESS)
        *temp = (unsigned int)f->num[0];
    return r;
}

API nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device,
                                                        unsigned long long *reasons)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_REASONS, reasons != NULL, &f);
    if (r == NVML_SUCCESS)
        *reasons = f->num[0];
    return r;
}

/* The pre-12.2 name of the same query. */
API nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                           unsigned long long *reasons)
{
    return nvmlDeviceGetCurrentClocksEventReasons(device, reasons);
}

API nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, nvmlEnableState_t *mode)
{
    GET_UINTS(device, F_PERSIST, mode);
}

API nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t device, nvmlGpuFabricInfo_t *info)
{
    const field_t *f = NULL;
    nvmlReturn_t r = dev_field(device, F_FABRIC, info != NULL, &f);
    if (r != NVML_SUCCESS)
        return r;
    memset(info, 0, sizeof(*info));
    info->state = (unsigned char)f->num[0];
    info->status = (nvmlReturn_t)f->num[1];
    return NVML_SUCCESS;
}
