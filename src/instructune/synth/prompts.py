"""Prompt texts for Self-Instruct and Evol-Instruct, as plain functions of their inputs.

Each function returns the text of one user message (sent through `Generator.chat`). They are
short and ask for a fixed, numbered or labelled output format, so that even a small model
(SmolLM2-135M-Instruct) has a fair chance, and `synth/parse.py` can read the reply:

    instruction_prompt(["Name three fruits.", ...], n_new=4)   # → "1. ...\n2. ..." expected
    instance_prompt("Translate 'cat' into French.")             # → "Input: ...\nOutput: ..."
    evolve_prompt("add_constraints", "Write a poem.")           # → "Harder task: ..."

The methods are Self-Instruct's (Wang et al., 2023) and Evol-Instruct's (Xu et al., WizardLM,
2023): its in-depth operations (add constraints, deepen, concretize, add reasoning steps,
complicate the input) and in-breadth mutation (a new prompt in the same domain, but rarer).
The texts are written for instructune, not taken or paraphrased from those papers' prompts
(NOTICE); bench/results/synth/README.md measures them against the earlier wording.
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
            "Could every correct answer to this task be picked from a short, closed list of "
            "choices (a sentiment, yes or no, a category name)? Reply Yes or No.")


def instance_prompt(instruction: str) -> str:
    """Input-first instance generation: an input for the task, then its output."""
    return (f"Task: {instruction}\n\n"
            "Show this task done once. First give the material it works on (a passage, a "
            "question, some numbers); a task that stands on its own gets None there. Then give "
            "a right answer.\n"
            "Use these two labelled lines and nothing more:\n"
            "Input: <the input, or None>\n"
            "Output: <the correct output>")


def instance_prompt_output_first(instruction: str) -> str:
    """Output-first instance generation for classification tasks: the label first, then an
    input that has that label (so generated inputs are not all of the majority class)."""
    return (f"Task: {instruction}\n\n"
            "Its answers come from a fixed set of labels. Choose one of those labels, then make "
            "up an input whose right answer is that label.\n"
            "Use these two labelled lines and nothing more:\n"
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


# The heading of the raw task list the model continues (completion style).
TASK_LIST_HEADING = "Things people ask an assistant to do, one per line:"


def instruction_completion(tasks: list[str]) -> tuple[str, str]:
    """A numbered task list for the model to continue at item len(tasks) + 1.

    Returns:
        (prompt, prefix): parse `prefix + reply` (the reply continues the open item).
    """
    listed = "\n".join(f"{i}. {t}" for i, t in enumerate(tasks, start=1))
    nxt = f"{len(tasks) + 1}."
    return f"{TASK_LIST_HEADING}\n{listed}\n{nxt}", nxt + " "


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

# The headers the replies are asked to start with (`synth/parse.py` strips them; the
# elimination step rejects a prompt that still holds `ORIGINAL_HEADER`: filters.COPIED_WORDING).
ORIGINAL_HEADER = "Original task:"
HARDER_HEADER = "Harder task:"
NEW_HEADER = "New task:"

# In-depth operations: how to make the given prompt harder. Each entry names the one change to
# make; `evolve_prompt` puts it in its frame.
IN_DEPTH: dict[str, str] = {
    "add_constraints": ("attach one extra condition the answer has to meet, such as a limit, a "
                        "format, or something to include or leave out."),
    "deepen": "have it go further into its subject, or cover more sides of it.",
    "concretize": "swap a general idea in it for a specific, named case.",
    "add_reasoning": ("turn it into a problem that takes several worked steps, and ask for those "
                      "steps to be shown."),
    "complicate_input": ("give it a richer input to work on: more data or detail, a table, or a "
                         "piece of code."),
}
IN_BREADTH = "in_breadth"
OPERATIONS: tuple[str, ...] = (*IN_DEPTH, IN_BREADTH)


def _shown(instruction: str, context: str) -> str:
    """The parent as the model sees it: the task, then its input on a line of its own."""
    return f"{ORIGINAL_HEADER} {instruction}" + (f"\nIts input: {context}" if context else "")


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
    change = IN_DEPTH[operation]
    if operation == "complicate_input":
        reply = (f"Do not solve it. Answer in two labelled lines:\n{HARDER_HEADER} <the task>\n"
                 "Input: <its new, richer input>")
    else:
        reply = f"Do not solve it. Write the harder task only, after \"{HARDER_HEADER}\"."
    return (f"Make this task harder with one change: {change} A person must still be able to "
            "read and answer it, and it may grow by 20 words at most.\n\n"
            f"{_shown(instruction, context)}\n\n{reply}")


def breadth_prompt(example: str) -> str:
    """In-breadth mutation: a brand-new prompt in the same domain as `example`, but rarer.

    Args:
        example: an instruction from the topic to steer toward (an under-represented cluster).
    """
    return ("Invent a different task on the same subject as this one: a less common kind of "
            "task, about as long and as hard.\n\n"
            f"{ORIGINAL_HEADER} {example}\n\n"
            f"Do not solve it. Write the invented task only, after \"{NEW_HEADER}\".")


def response_prompt(instruction: str, context: str = "") -> str:
    """The user message that asks for a response to a (new) instruction and its input."""
    return f"{instruction}\n\n{context}" if context else instruction
