import pytest
from transformers import LlamaTokenizer

from socialfusion_plugin.host import TokenizationMismatchError, install_train_hooks

IGNORE_INDEX = -100


def conversation(answer="red"):
    return [[{"from": "human", "value": "<image>\nWhat color is the square?"}, {"from": "gpt", "value": answer}]]


@pytest.fixture
def template():
    from llava import conversation as conversation_lib

    saved = conversation_lib.default_conversation

    def use(name):
        conversation_lib.default_conversation = conversation_lib.conv_templates[name]

    yield use
    conversation_lib.default_conversation = saved


def tokenizer(tiny_assets):
    tok = LlamaTokenizer(vocab_file=str(tiny_assets.llm_dir / "tokenizer.model"), legacy=True)
    tok.pad_token = tok.unk_token
    tok.model_max_length = 256
    return tok


def test_matching_template_and_tokenizer_keep_answer_labels(tiny_assets, template):
    train = install_train_hooks()
    template("v1")
    out = train.preprocess(conversation(), tokenizer(tiny_assets), has_image=True)
    labels = out["labels"][0]
    assert (labels != IGNORE_INDEX).sum() >= 2  # the answer and </s> are trained on


def test_mismatch_is_an_error_naming_template_and_tokenizer(tiny_assets, template):
    # MPT's template with a LLaMA tokenizer (a wrong --version): LLaVA's token counting disagrees
    # with the real tokenization, prints a warning and masks every label; here it is an error.
    train = install_train_hooks()
    template("mpt")
    with pytest.raises(TokenizationMismatchError) as err:
        train.preprocess(conversation(), tokenizer(tiny_assets), has_image=True)
    message = str(err.value)
    assert "tokenization mismatch" in message
    assert "version 'mpt'" in message and "LlamaTokenizer (legacy=True)" in message
    assert "--version" in message and "What color is the square?" in message


def test_other_prints_in_llava_still_print(capsys):
    train = install_train_hooks()
    train.print("Formatting inputs...Skip in lazy mode")
    assert "Formatting inputs" in capsys.readouterr().out
