"""Train the text-guided target classifier with ESPnet's trainer (tse2's classifier task).

  python -m tse2.bin.cls_train --config conf/cls.yaml --cue text --output_dir exp/cls_x_text \\
      --train_data_path_and_name_and_type dump/cls/sep_x/train_text/cand1.scp,cand1,sound \\
      --train_data_path_and_name_and_type dump/cls/sep_x/train_text/cand2.scp,cand2,sound \\
      --train_data_path_and_name_and_type dump/cls/sep_x/train_text/label,label,text_int \\
      --train_data_path_and_name_and_type dump/cls/sep_x/train_text/prompt,prompt,text ...

Data names and config keys: ``tse2/tasks/cls.py``.
"""

from typing import List, Optional

from tse2.tasks.cls import Tse2ClassifierTask


def get_parser():
    return Tse2ClassifierTask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    Tse2ClassifierTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
