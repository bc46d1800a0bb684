"""Reading and writing data files: npy, npz, csv/tsv, parquet and folders of PNG images.

Every problem with a file raises :class:`DataFileError` (a ``ValueError``) whose one-line message names the
file and the problem. Outputs are checked before any work, written block by block to a hidden temporary beside
them, published exclusively (an existing output is never replaced unless ``force=True``, also when another run
creates it meanwhile), with the process umask, and removed on SIGINT, SIGTERM or SIGHUP.

Modules: ``tables`` (reading), ``images`` (PNG modes), ``writers`` (streamed outputs), ``publish`` (checks,
exclusive publication, signals). Nothing here imports torch, scikit-learn or matplotlib.
"""

from inertial_diffusion.io.dataset import DATA_SUFFIXES, DataFileError, Dataset
from inertial_diffusion.io.images import IMAGE_MODES, to_display, to_images
from inertial_diffusion.io.publish import Interrupted, atomic_write, check_output_path, interruptible
from inertial_diffusion.io.tables import load_data
from inertial_diffusion.io.writers import NonFiniteSamplesError, SampleWriter, check_output, open_writer, save_data

__all__ = ["DataFileError", "Dataset", "DATA_SUFFIXES", "IMAGE_MODES", "load_data", "save_data", "check_output",
           "check_output_path", "open_writer", "SampleWriter", "NonFiniteSamplesError", "atomic_write",
           "interruptible", "Interrupted", "to_images", "to_display"]
