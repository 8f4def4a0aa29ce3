"""Train a separator with ESPnet's trainer (tse2's enhancement task: ESPnet's + tf_locoformer).

  python -m tse2.bin.sep_train --config conf/tuning/sep_tflocoformer_tiny.yaml --output_dir exp/sep \\
      --train_data_path_and_name_and_type data/train_mix/wav.scp,speech_mix,sound ...
"""

from typing import List, Optional

from tse2.tasks.enh import Tse2EnhancementTask


def get_parser():
    return Tse2EnhancementTask.get_parser()


def main(cmd: Optional[List[str]] = None) -> None:
    Tse2EnhancementTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
