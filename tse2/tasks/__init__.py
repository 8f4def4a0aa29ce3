"""ESPnet task plugins: tasks that build from their own class choices."""


def add_fs_argument(group, help_text: str = "the sample rate the model runs at; recorded in config.yaml, "
                                           "where every runtime and tool reads it") -> None:
    """``--fs``: every tse2 task records its model's rate in its config (``tse2.utils.audio.model_rate``)."""
    from tse2.utils.audio import DEFAULT_FS

    group.add_argument("--fs", type=int, default=DEFAULT_FS, help=help_text)
