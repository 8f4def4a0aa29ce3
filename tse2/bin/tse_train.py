"""Train a single-stage text-conditioned TSE baseline with ESPnet's trainer (tse2's TSE task).

  python -m tse2.bin.tse_train --config conf/tuning/tse_tflocoformer_tiny.yaml --output_dir exp/tse_x \\
      --train_data_path_and_name_and_type dump/cls/clean/text_relative/train/mix.scp,speech_mix,sound \\
      --train_data_path_and_name_and_type dump/cls/clean/text_relative/train/target.scp,speech_ref1,sound \\
      --train_data_path_and_name_and_type dump/cls/clean/text_relative/train/prompt,prompt,text ...

Data names and config keys: ``tse2/tasks/tse.py``.
"""

from typing import List, Optional

from tse2.tasks.tse import Tse2TSETask


def get_parser():
    return Tse2TSETask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    Tse2TSETask.main(cmd=cmd)


if __name__ == "__main__":
    main()
