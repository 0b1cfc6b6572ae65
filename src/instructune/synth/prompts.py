"""Prompt texts for Self-Instruct and Evol-Instruct, as plain functions of their inputs.

Each function returns the text of one user message (sent through `Generator.chat`). They are
short and ask for a fixed, numbered or labelled output format, so that even a small model
(SmolLM2-135M-Instruct) has a fair chance, and `synth/parse.py` can read the reply:

    instruction_prompt(["Name three fruits.", ...], n_new=4)   # → "1. ...\n2. ..." expected
    instance_prompt("Translate 'cat' into French.")             # → "Input: ...\nOutput: ..."
    evolve_prompt("add_constraints", "Write a poem.")           # → "Rewritten prompt: ..."

Self-Instruct after Wang et al. (2023); Evol-Instruct after Xu et al. (WizardLM, 2023): their
in-depth operations (add constraints, deepen, concretize, add reasoning steps, complicate the
input) and in-breadth mutation (a new prompt in the same domain, but rarer).
"""

from __future__ import annotations

# ---------------------------------------------------------------- Self-Instruct


def instruction_prompt(tasks: list[str], n_new: int) -> str:
    """Ask for `n_new` new tasks after showing `tasks` as a numbered list.

    Args:
        tasks: example instructions (human seeds mixed with generated ones), shown 1..k.
        n_new: how many new tasks to ask for; they are to continue the numbering.
    """
    listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tasks, start=1))
    start = len(tasks) + 1
    return (f"Here is a list of tasks:\n{listed}\n\n"
            f"Write {n_new} new tasks that are different from these. "
            f"Continue the numbered list from {start} to {start + n_new - 1}, one task per line, "
            f"and write nothing else.")


def is_classification_prompt(instruction: str) -> str:
    """Ask whether a task is classification (a small, finite set of output labels)."""
    return (f"Task: {instruction}\n\n"
            "Is this a classification task, whose answer is one label from a small fixed set "
            "(for example positive/negative, yes/no, a category)? Answer Yes or No.")


def instance_prompt(instruction: str) -> str:
    """Input-first instance generation: an input for the task, then its output."""
    return (f"Task: {instruction}\n\n"
            "Write one example of this task. If the task needs an input (a text, a question, "
            "data), write it; otherwise write None. Then write the correct output.\n"
            "Reply in exactly this format:\n"
            "Input: <the input, or None>\n"
            "Output: <the correct output>")


def instance_prompt_output_first(instruction: str) -> str:
    """Output-first instance generation for classification tasks: the label first, then an
    input that has that label (so generated inputs are not all of the majority class)."""
    return (f"Task: {instruction}\n\n"
            "This is a classification task. First pick one possible class label, then write an "
            "input that belongs to that class.\n"
            "Reply in exactly this format:\n"
            "Class label: <the label>\n"
            "Input: <an input of that class>")


# Completion style (`self_instruct.prompt_style: complete`): a raw text the model continues, as
# in the original Self-Instruct; works with base models and small instruct models alike.

# Few-shot examples written for instructune: (instruction, input, output) and
# (instruction, label, input).
INSTANCE_EXAMPLES = (
    ("Give two tips for sleeping better.", "",
     "1. Go to bed at the same time every night. 2. Keep screens out of the bedroom."),
    ("Find the largest number in the list.", "4, 17, 9, 12", "17"),
)
LABEL_EXAMPLES = (
    ("Classify the sentiment of the review as positive or negative.", "negative",
     "The soup was cold and the waiter ignored us all evening."),
    ("Is the number prime? Answer yes or no.", "yes", "13"),
)


def instruction_completion(tasks: list[str]) -> tuple[str, str]:
    """A numbered task list for the model to continue at item len(tasks) + 1.

    Returns:
        (prompt, prefix): parse `prefix + reply` (the reply continues the open item).
    """
    listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tasks, start=1))
    nxt = f"{len(tasks) + 1}."
    return f"Come up with a series of tasks:\n{listed}\n{nxt}", nxt + " "


def instance_completion(instruction: str) -> str:
    """Few-shot input-first instance prompt, ending in "Input:". The model writes the input;
    `instance_completion_next` then asks for the output."""
    shots = "".join(f"Task: {i}\nInput: {x or 'None'}\nOutput: {y}\n\n" for i, x, y in INSTANCE_EXAMPLES)
    return f"{shots}Task: {instruction}\nInput:"


def instance_completion_output_first(instruction: str) -> str:
    """Few-shot output-first (classification) prompt, ending in "Class label:". The model writes
    the label; `instance_completion_next` then asks for an input of that class."""
    shots = "".join(f"Task: {i}\nClass label: {y}\nInput: {x}\n\n" for i, y, x in LABEL_EXAMPLES)
    return f"{shots}Task: {instruction}\nClass label:"


def instance_completion_next(first_prompt: str, first_value: str, output_first: bool) -> str:
    """The second step: the first prompt with the model's input (or label) filled in, ending in
    "Output:" (or "Input:"). Two short steps suit small models, which tend to stop after one
    labelled line."""
    value = first_value.strip() or "None"
    return f"{first_prompt} {value}\n{'Input' if output_first else 'Output'}:"


# ---------------------------------------------------------------- Evol-Instruct

_REWRITE_TAIL = ("The rewritten prompt must be reasonable, understandable and answerable by "
                 "humans. Do not answer the prompt. Reply with the rewritten prompt only, starting "
                 "with \"Rewritten prompt:\".")

# In-depth operations: how to make the given prompt harder. Each entry is the sentence that
# tells the model what to change; `evolve_prompt` wraps it.
IN_DEPTH: dict[str, str] = {
    "add_constraints": "Add one more constraint or requirement to it.",
    "deepen": "Make the question deeper and broader: ask about more aspects of the topic.",
    "concretize": "Replace general concepts with more specific, concrete ones.",
    "add_reasoning": ("Rewrite it so that answering it clearly needs several steps of reasoning; "
                      "ask for the steps explicitly."),
    "complicate_input": ("Make its input harder to work with: add more detail, data, a table or "
                         "code to the input the prompt works on."),
}
IN_BREADTH = "in_breadth"
OPERATIONS: tuple[str, ...] = (*IN_DEPTH, IN_BREADTH)


def _given(instruction: str, context: str) -> str:
    return f"{instruction}\n\nInput: {context}" if context else instruction


def evolve_prompt(operation: str, instruction: str, context: str = "") -> str:
    """Ask to rewrite a prompt with one in-depth operation.

    Args:
        operation: a key of `IN_DEPTH`.
        instruction: the parent's instruction.
        context: the parent's input ("" when none). For "complicate_input" the reply is to hold
            an "Input:" part (parsed into the child's context); for the other operations it is
            shown for reference only and the child keeps the parent's context.
    Raises:
        KeyError: an unknown operation.
    """
    how = IN_DEPTH[operation]
    fmt = _REWRITE_TAIL
    if operation == "complicate_input":
        fmt = ("Do not answer the prompt. Reply in exactly this format:\n"
               "Rewritten prompt: <the instruction>\nInput: <the new, harder input>")
    return (f"Rewrite the given prompt into a more complex version. {how} "
            f"Add at most 10 to 20 words.\n\n"
            f"Given prompt: {_given(instruction, context)}\n\n{fmt}")


def breadth_prompt(example: str) -> str:
    """In-breadth mutation: a brand-new prompt in the same domain as `example`, but rarer.

    Args:
        example: an instruction from the topic to steer toward (an under-represented cluster).
    """
    return ("Draw inspiration from the given prompt to create a brand-new prompt. It should belong "
            "to the same domain but be more rare. Its length and complexity should be similar.\n\n"
            f"Given prompt: {example}\n\n"
            "Reply with the new prompt only, starting with \"New prompt:\".")


def response_prompt(instruction: str, context: str = "") -> str:
    """The user message that asks for a response to a (new) instruction and its input."""
    return f"{instruction}\n\n{context}" if context else instruction
