"""Shared by the safe-loading tests: a pickle that proves it ran (it creates a marker file), and the
torch weights-only environment settings each test runs under."""


class CreatesMarker:
    """Unpickling this runs `exec`, which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


def apply_setting(monkeypatch, setting: str) -> str:
    """torch reads both variables at every torch.load call: setting them here is what a user's shell does."""
    monkeypatch.delenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", raising=False)
    monkeypatch.delenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", raising=False)
    if "=" in setting:
        name, value = setting.split("=")
        monkeypatch.setenv(name, value)
    return setting
