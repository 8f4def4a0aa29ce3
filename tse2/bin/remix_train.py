"""Train a Listen, Chat, and Remix model with ESPnet's trainer (tse2's remix task).

  python -m tse2.bin.remix_train --config conf/remix.yaml --output_dir exp/remix_x \\
      --speech_dir data/train --sound_dir data/sounds_train \\
      --train_data_path_and_name_and_type dump/remix/train/recipe,recipe,text \\
      --train_shape_file dump/remix/train/utt2num_samples \\
      --valid_data_path_and_name_and_type data/remix_valid/wav.scp,speech_mix,sound \\
      --valid_data_path_and_name_and_type data/remix_valid/spk1.scp,speech_ref1,sound \\
      --valid_data_path_and_name_and_type data/remix_valid/prompt,prompt,text ...

Data names and config keys: ``tse2/tasks/remix.py``.
"""

from typing import List, Optional

from tse2.tasks.remix import Tse2RemixTask


def get_parser():
    return Tse2RemixTask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    Tse2RemixTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
