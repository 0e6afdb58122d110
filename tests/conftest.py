import os

# Tests run beside other jobs on 2 cores; one thread each keeps timings stable and avoids oversubscription.
os.environ.setdefault("OMP_NUM_THREADS", "1")
