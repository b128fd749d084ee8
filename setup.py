"""`pip install .` for the moulin Python package: builds the _moulin extension with the project's CMake against
the LibTorch of the Python that runs pip (torch.utils.cmake_prefix_path), and packages python/moulin around it.

    pip install --no-build-isolation .     # uses the torch already installed in this Python

MOULIN_PIP_BUILD_DIR chooses the CMake build folder (default build/pip-pyXY, kept between installs so ccache and
Ninja make reinstalls fast).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        try:
            import torch
        except ImportError as error:  # the extension must be built against the torch it will run with
            raise RuntimeError("moulin needs torch installed in the Python running pip "
                               "(pip install --no-build-isolation .)") from error
        build_dir = Path(os.environ.get("MOULIN_PIP_BUILD_DIR",
                                        ROOT / "build" / f"pip-py{sys.version_info.major}{sys.version_info.minor}"))
        arguments = ["-G", "Ninja", f"-DPython3_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release",
                     "-DMOULIN_BUILD_TESTS=OFF", "-DMOULIN_BUILD_BENCH=OFF"]
        prefix = Path(torch.utils.cmake_prefix_path)
        if prefix.exists():  # PyTorch wheels ship their CMake config; Debian's python3-torch uses the system one
            arguments.append(f"-DCMAKE_PREFIX_PATH={prefix}")
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), *arguments], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_moulin", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = next((build_dir / "python" / "moulin").glob("_moulin*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    name="moulin",
    version="0.1.0",
    description="A Llama 3 workbench for data poisoning and interpretability research",
    packages=["moulin"],
    package_dir={"": "python"},
    package_data={"moulin": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("moulin._moulin")],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.8",
    zip_safe=False,
)
