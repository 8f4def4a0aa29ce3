"""Train the expressive retrieval model with ESPnet's trainer (tse2's retrieval task).

  python -m tse2.bin.retrieval_train --config conf/retrieval.yaml --output_dir exp/ret_x \\
      --style_list dump/ret/style_list \\
      --train_data_path_and_name_and_type dump/ret/train/wav.scp,speech,sound \\
      --train_data_path_and_name_and_type dump/ret/train/style,style,text_int \\
      --train_shape_file dump/ret/train/utt2num_samples ...

Data names and config keys: ``tse2/tasks/retrieval.py``.
"""

from typing import List, Optional


def get_parser():
    from tse2.tasks.retrieval import Tse2RetrievalTask

    return Tse2RetrievalTask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    from tse2.tasks.retrieval import Tse2RetrievalTask

    Tse2RetrievalTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
