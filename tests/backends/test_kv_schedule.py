"""The KV-cache chunk log that makes a resumed embedded run exact (issue 25, D5): it follows
llama-cpp-python's own bookkeeping (a shared prefix kept, the rest dropped, n_batch splits),
and a replay evaluates the same tokens in the same chunks."""

from __future__ import annotations

from longform.backends.kv_schedule import EvalLog, replay


class FakeLlama:
    """What EvalLog touches of llama_cpp.Llama: eval (splitting by n_batch), n_tokens, reset."""

    def __init__(self, n_batch: int = 4):
        self.n_batch, self.n_tokens, self.calls = n_batch, 0, []

    def eval(self, tokens):
        for i in range(0, len(tokens), self.n_batch):
            self.calls.append(list(tokens[i:i + self.n_batch]))
            self.n_tokens += len(tokens[i:i + self.n_batch])

    def reset(self):
        self.n_tokens = 0


def test_the_log_follows_prompts_sampled_tokens_and_a_kept_prefix():
    llm = FakeLlama()
    log = EvalLog(llm)
    llm.eval(list(range(10)))  # a prompt: 4 + 4 + 2
    for token in (10, 11):  # sampled tokens, read one at a time
        llm.eval([token])
    assert log.sizes == [4, 4, 2, 1, 1] and log.held() == 12
    llm.n_tokens = 6  # the next call shares 6 tokens (generate cuts the cache there)
    llm.eval([20, 21, 22])
    assert log.sizes == [4, 2, 3] and log.held() == 9 == llm.n_tokens


def test_a_replay_reads_the_same_chunks_up_to_the_kept_prefix():
    llm = FakeLlama()
    log = EvalLog(llm)
    tokens = list(range(12))
    done = replay(llm, log, tokens, [4, 4, 2, 1, 1], keep=11)
    assert done == 11 and llm.calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10]]
    assert log.sizes == [4, 4, 2, 1] and llm.n_tokens == 11
