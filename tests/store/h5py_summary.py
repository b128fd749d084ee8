"""What plain h5py (no moulin code) reads from an activation store, as JSON on stdout: the commit record, the
committed token ids and documents, and the float64 sum of each hook's committed rows. Used by the C++ crash tests
to check that a killed dump is readable by h5py and agrees with moulin's reader."""
import json
import sys

import h5py
import numpy as np


def main(path):
    # swmr=True also opens files whose writer was killed (their superblock still says "open for writing").
    with h5py.File(path, "r", swmr=True) as f:
        committed = dict(zip(f["committed"].attrs["fields"], f["committed"][:].tolist()))
        tokens = committed["tokens"]
        hooks = list(f.attrs["hooks"])
        summary = {
            "committed": committed,
            "hooks": hooks,
            "ids": f["tokens/id"][:tokens].tolist(),
            "documents": f["tokens/document"][:tokens].tolist(),
            "sums": {hook: float(np.asarray(f[hook][:tokens], dtype=np.float64).sum()) for hook in hooks},
        }
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
