"""Batched generation and option ranking on a tiny model whose greedy answers are exact."""
import pytest
import torch

from eval_helpers import COLORS, color_images, color_questions
from socialfusion_plugin.host.llava.inference.batch_generation import generate_answers
from socialfusion_plugin.host.llava.inference.eval_inputs import image_batch, prompt_ids, prompt_text
from socialfusion_plugin.host.llava.inference.option_ranking import option_token_ids, rank_options


def truths(trained):
    return [r["conversations"][1]["value"] for r in trained.records]


def test_batched_generation_is_exact_and_does_not_depend_on_batch_size(trained_color_model):
    loaded = trained_color_model.loaded
    questions, images = color_questions(trained_color_model), color_images(trained_color_model)
    whole = generate_answers(loaded, questions, images, max_new_tokens=6)
    assert whole == truths(trained_color_model)
    one_by_one = [generate_answers(loaded, [q], [i], max_new_tokens=6)[0] for q, i in zip(questions, images)]
    uneven = []
    for start in range(0, len(questions), 5):  # batches of 5, 5, 5, 1: different padding per batch
        uneven += generate_answers(loaded, questions[start:start + 5], images[start:start + 5], max_new_tokens=6)
    assert one_by_one == whole == uneven


def test_option_tokens_complete_answers_end_with_eos_prefixes_do_not(trained_color_model):
    tokenizer = trained_color_model.loaded.tokenizer
    complete = option_token_ids(tokenizer, {c: c for c in COLORS}, complete=True)
    prefix = option_token_ids(tokenizer, {c: c for c in COLORS}, complete=False)
    for color in COLORS:
        assert complete[color][-1] == tokenizer.eos_token_id
        assert complete[color][:-1] == prefix[color]
        assert tokenizer.decode(prefix[color]).strip() == color


def test_ranking_agrees_with_greedy_generation_and_is_batch_invariant(trained_color_model):
    loaded = trained_color_model.loaded
    questions, images = color_questions(trained_color_model), color_images(trained_color_model)
    options = option_token_ids(loaded.tokenizer, {c: c for c in COLORS})
    scores = rank_options(loaded, questions, images, options)
    generated = generate_answers(loaded, questions, images, max_new_tokens=6)
    assert [max(s, key=s.get) for s in scores] == generated
    single = [rank_options(loaded, [q], [i], options)[0] for q, i in zip(questions, images)]
    for a, b in zip(scores, single):
        assert a.keys() == b.keys()
        for label in a:
            assert a[label] == pytest.approx(b[label], abs=1e-4)


SHARED_PREFIX_OPTIONS = ("red", "three", "three2", "three3", "three_gun", "two_up", "two_up_inverted", "no_gesture")


@pytest.mark.parametrize("labels", [COLORS, SHARED_PREFIX_OPTIONS], ids=["colors", "shared-prefixes"])
def test_cached_scores_equal_a_full_forward_without_cache(trained_color_model, labels):
    """Packing all options as a prefix tree over the shared prompt cache must give the same
    log-likelihood as scoring prompt + option alone in one pass, option by option."""
    loaded = trained_color_model.loaded
    model, tokenizer = loaded.model, loaded.tokenizer
    questions, images = color_questions(trained_color_model)[:3], color_images(trained_color_model)[:3]
    options = option_token_ids(tokenizer, {c: c for c in labels})
    if labels is SHARED_PREFIX_OPTIONS:  # the case the tree exists for: options that share tokens
        assert options["three"][:2] == options["three2"][:2] and len(options["two_up_inverted"]) > 3
    cached = rank_options(loaded, questions, images, options)
    for question, image, scores in zip(questions, images, cached):
        prompt = prompt_ids(tokenizer, prompt_text(question, "v1"))
        pixels, sizes = image_batch(loaded, [image])
        for label, tokens in options.items():
            ids = torch.tensor([prompt + tokens])
            with torch.no_grad():
                embeds = model.prepare_inputs_labels_for_multimodal(ids, None, None, None, None, pixels, sizes)[4]
                logprobs = torch.log_softmax(model(inputs_embeds=embeds).logits.float(), -1)[0]
            end = embeds.shape[1]
            expected = sum(float(logprobs[end - len(tokens) - 1 + j, t]) for j, t in enumerate(tokens))
            assert scores[label] == pytest.approx(expected, abs=1e-4)


def test_mismatched_inputs_and_empty_options_are_errors(trained_color_model):
    loaded = trained_color_model.loaded
    with pytest.raises(ValueError, match="2 questions but 1 images"):
        generate_answers(loaded, ["a", "b"], color_images(trained_color_model)[:1])
    with pytest.raises(ValueError, match="empty answer"):
        option_token_ids(loaded.tokenizer, {"x": " "})


def test_one_question_goes_through_batched_generation(trained_color_model):
    from socialfusion_plugin.host.llava.inference.batch_generation import answer_question

    loaded = trained_color_model.loaded
    questions, images = color_questions(trained_color_model), color_images(trained_color_model)
    assert [answer_question(loaded, i, q.replace("<image>\n", ""), max_new_tokens=6)
            for q, i in zip(questions[:4], images[:4])] == truths(trained_color_model)[:4]


def test_a_pad_token_id_of_zero_is_used_not_replaced_by_unk():
    from types import SimpleNamespace

    from socialfusion_plugin.host.llava.inference.eval_inputs import pad_id

    assert pad_id(SimpleNamespace(pad_token_id=0, unk_token_id=3)) == 0
    assert pad_id(SimpleNamespace(pad_token_id=None, unk_token_id=3)) == 3
