"""Train the ideal cascade's separator (all sources, PIT, negative SNR) with ESPnet's trainer.

  python -m tse2.bin.remix_cascade_train --config conf/remix_cascade.yaml --output_dir exp/remix_cascade \\
      --speech_dir data/train --sound_dir data/sounds_train \\
      --train_data_path_and_name_and_type dump/remix/train/recipe,recipe,text \\
      --train_shape_file dump/remix/train/utt2num_samples \\
      --valid_data_path_and_name_and_type data/remix_dev/wav.scp,speech_mix,sound \\
      --valid_data_path_and_name_and_type data/remix_dev/src1.scp,speech_ref1,sound ... (src1-4) \\
      --valid_shape_file data/remix_dev/utt2num_samples

Data names and config keys: ``Tse2RemixCascadeTask`` in ``tse2/tasks/remix.py``.
"""

from typing import List, Optional

from tse2.tasks.remix import Tse2RemixCascadeTask


def get_parser():
    return Tse2RemixCascadeTask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    Tse2RemixCascadeTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
