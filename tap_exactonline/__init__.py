"""tap_exactonline.

singer-sdk's import pulls in numpy (through joblib, for targets), and numpy's OpenBLAS starts
a worker thread per core that the tap never uses but that takes CPU from it while it spins up.
One BLAS thread is asked for unless the environment says otherwise; this must happen before
numpy is imported, so it is done here, before any module of the tap imports singer-sdk.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
