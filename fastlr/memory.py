"""How much memory this machine has free: for checks made before a large allocation."""


def available_bytes():
    """Bytes of memory available now (what can be allocated without swapping), or None where unknown.

    psutil when it is installed (the ``[dask]`` extra), else Linux's
    ``MemAvailable`` from ``/proc/meminfo``.
    """
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def describe(n_bytes):
    """``n_bytes`` for a message: '3.2 GB', '410 MB'."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{int(n_bytes)} bytes"
