"""Generation: the one engine that eval, generate, chat, serve, the synth local backend and the
quality judge use.

    params.py            GenParams: the one set of sampling parameters (`from_config`)
    load.py              load_for_inference: a run dir, export, path or hub id → (model, tokenizer)
    batched.py           generate_ids / generate_text: the one batched generate loop
    running_batch.py     RunningBatch: rows join (prefilled) and leave (ended) a KV-cached batch between steps
    next_token.py        NextToken: greedy or per-row seeded sampling of the next token
    stopping.py          stop criteria (stop strings, caller cancels) and cut_at_stop
    streaming.py         TokenSink and TextDeltas: token-by-token text that is final
    auto_temperature.py  temperature "auto": a temperature per prompt from the run's head
    engine.py            Engine: prompts (chats, records, raw text) → Generations, batched or streamed
    batch_worker.py      BatchWorker: the thread that owns the engine's model; requests join the running batch
    generator.py         the Generator protocol that synth and the quality judge talk to

It imports only config, data, model and the small utilities; serve, synth, quality and
evaluate import it.
"""
