"""Loose verdicts: a response that fails strictly but passes once a chatty first line, a sign-off
last line or markdown stars are taken away."""

from __future__ import annotations

from instructune.evaluate.ifeval import check, loose_variants, make_prompt


def test_the_eight_variants_in_ifeval_order():
    assert loose_variants("Sure:\n*a*\nBye") == [
        "Sure:\n*a*\nBye", "Sure:\na\nBye",   # response, without stars
        "*a*\nBye", "Sure:\n*a*", "*a*",      # without first line, last line, both
        "a\nBye", "Sure:\na", "a",            # those three without stars
    ]


def test_chatty_first_line_fails_strict_passes_loose():
    prompt = make_prompt(1, "Write a poem.", ["combination:repeat_prompt"], [{"prompt_to_repeat": "Write a poem."}])
    verdict = check(prompt, "Sure, here is the poem you asked for:\nWrite a poem.\nRoses are red.")
    assert verdict.follow_instruction_list == (False,)
    assert verdict.follow_instruction_list_loose == (True,)


def test_sign_off_last_line_fails_strict_passes_loose():
    prompt = make_prompt(2, "Explain leap years.", ["startend:end_checker"], [{"end_phrase": "Any other questions?"}])
    verdict = check(prompt, "Every fourth year has 366 days. Any other questions?\nHope this helps!")
    assert (verdict.follow_all_instructions, verdict.follow_all_instructions_loose) == (False, True)


def test_markdown_stars_fail_strict_pass_loose():
    prompt = make_prompt(3, "Two paragraphs.", ["length_constraints:nth_paragraph_first_word"],
                         [{"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "so"}])
    verdict = check(prompt, "The moon turns.\n\n**So** it shines.")
    assert verdict.follow_instruction_list == (False,)
    assert verdict.follow_instruction_list_loose == (True,)


def test_loose_is_per_instruction_and_never_below_strict():
    prompt = make_prompt(4, "x", ["punctuation:no_comma", "detectable_format:title"], [{}, {}])
    verdict = check(prompt, "Well, here it is:\n<<Title>>\nNo commas below.")
    # The comma sits on the first line, which loose scoring may drop; the title is there anyway.
    assert verdict.follow_instruction_list == (False, True)
    assert verdict.follow_instruction_list_loose == (True, True)


def test_a_response_that_fails_every_variant():
    prompt = make_prompt(5, "x", ["punctuation:no_comma"], [{}])
    verdict = check(prompt, "One, two.\nThree, four.\nFive, six.")
    assert verdict.follow_instruction_list_loose == (False,)
