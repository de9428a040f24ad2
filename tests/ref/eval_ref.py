#!/usr/bin/python3
"""Reference scorer: lm-evaluation-harness's zero-shot scoring rules, transcribed in plain Python
over the PyTorch reference model (mobilellm_ref.py, float64) and Debian's sentencepiece.

What it transcribes (lm_eval/tasks/*/ yaml and utils.py, api/task.py, api/model.py,
models/huggingface.py, utils.py):
- each task's doc_to_text / doc_to_choice / doc_to_target, target_delimiter " ", HellaSwag's
  preprocess, WinoGrande's partial scoring, RACE's article + earlier questions, BoolQ no/yes;
- _encode_pair: trailing context spaces move to the continuation, whole = enc(ctx + cont),
  context_enc = enc(ctx), continuation_enc = whole[len(context_enc):];
- _loglikelihood_tokens: one forward pass over (context_enc + continuation_enc)[:-1], the sum of
  log_softmax at the continuation positions; is_greedy;
- process_results: acc (argmax), acc_norm (ll / len(choice) in characters), acc_bytes
  (ll / UTF-8 bytes), mean_stderr; TriviaQA: greedy generation, split at the stop strings,
  strip, exact match ignoring case and string.punctuation against any alias;
- loglikelihood_rolling: get_rolling_token_windows + make_disjoint_window, prefix token BOS.

The tokenizer runs with an identity normalizer (llama.cpp, and so the engine, ignores the
SentencePiece normalizer that the random checkpoints' tokenizer was trained with).

    eval_ref.py JOB.json   -> JSON on stdout
    JOB: {"dir", "bos": bool, "max_gen_tokens": n,
          "tasks": [{"name", "format", "text"}], "perplexity": [{"name", "text", "ctx", "stride"}]}
"""
import ast
import json
import math
import os
import re
import string
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilellm_ref import forward, load_checkpoint  # noqa: E402


def _varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _enc_varint(n):
    out = bytearray()
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def identity_normalizer(model):
    """The ModelProto with field 3 (normalizer_spec) replaced by: name identity, add_dummy_prefix,
    no whitespace collapsing, escape whitespace. Plain protobuf wire format, no protobuf module."""
    spec = b"\x0a\x08identity\x18\x01\x20\x00\x28\x01"
    out, i = bytearray(), 0
    while i < len(model):
        start = i
        tag, i = _varint(model, i)
        wt = tag & 7
        if wt == 0:
            _, i = _varint(model, i)
        elif wt == 2:
            n, i = _varint(model, i)
            i += n
        elif wt == 5:
            i += 4
        elif wt == 1:
            i += 8
        else:
            raise ValueError(f"wire type {wt}")
        out += (_enc_varint(tag) + _enc_varint(len(spec)) + spec) if tag >> 3 == 3 else model[start:i]
    return bytes(out)


class Model:
    def __init__(self, d, bos):
        self.cfg, self.w = load_checkpoint(d)
        with open(os.path.join(d, "tokenizer.model"), "rb") as f:
            self.sp = spm.SentencePieceProcessor(model_proto=identity_normalizer(f.read()))
        self.bos = bos
        self.bos_id = self.cfg.get("bos_token_id", 1)
        self.eos_id = self.cfg.get("eos_token_id", 2)

    def tok_encode(self, s, add_special=None):
        add = self.bos if add_special is None else add_special
        return ([self.bos_id] if add else []) + self.sp.encode(s)

    def logprobs(self, tokens):
        logits = forward(self.cfg, self.w, tokens, dtype=torch.float64)
        return torch.log_softmax(logits, dim=-1)

    def encode_pair(self, context, continuation):
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.tok_encode(context + continuation)
        ctx = self.tok_encode(context)
        return ctx, whole[len(ctx):]

    def loglikelihood(self, context, continuation):
        if context == "":
            cont = self.tok_encode(continuation, False)
            ctx, cont = ([self.bos_id], cont) if self.bos_id != cont[0] else (cont[:1], cont[1:])
        else:
            ctx, cont = self.encode_pair(context, continuation)
        inp = (ctx + cont)[:-1]
        lp = self.logprobs(inp)[len(inp) - len(cont):]
        target = torch.tensor(cont)
        ll = lp.gather(1, target[:, None]).sum().item()
        greedy = bool((lp.argmax(-1) == target).all())
        return ll, greedy

    def generate(self, context, until, max_gen):
        ids = self.tok_encode(context)
        out = []
        for _ in range(max_gen):
            nxt = int(self.logprobs(ids + out)[-1].argmax())
            if nxt == self.eos_id:
                break
            out.append(nxt)
            text = self.sp.decode(out)
            if any(u in text for u in until):
                break
        s = self.sp.decode(out)
        for u in until:
            s = s.split(u)[0]
        return s


# ------------------------------------------------------------------ the tasks' templates

def hellaswag_preprocess(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    text = text.replace("  ", " ")
    return text


def race_docs(lines):
    """EleutherAI/race rows as they are; ehovy/race rows grouped by article."""
    docs = []
    for d in lines:
        if "problems" in d:
            probs = d["problems"]
            docs.append({"article": d["article"], "problems": ast.literal_eval(probs) if isinstance(probs, str) else probs})
        elif docs and docs[-1]["article"] == d["article"] and docs[-1].get("grouped"):
            docs[-1]["problems"].append({k: d[k] for k in ("question", "options", "answer")})
        else:
            docs.append({"article": d["article"], "grouped": True,
                         "problems": [{k: d[k] for k in ("question", "options", "answer")}]})
    return docs


def race_request(doc):
    letter = {"A": 0, "B": 1, "C": 2, "D": 3}
    text = "Article: " + doc["article"] + "\n\n"
    for p in doc["problems"][:-1]:
        ans = p["options"][letter[p["answer"]]]
        if p["question"][-6:] == "  _  .":
            text += p["question"][:-5] + ans + "\n"
        else:
            text += "Question: " + p["question"] + "\n" + "Answer: " + ans + "\n"
    last = doc["problems"][-1]
    text += last["question"]
    return text, [last["options"][i] for i in range(4)], letter[last["answer"]]


def requests_for(fmt, d):
    """(contexts, continuations, choices-for-length, gold) of one document."""
    def mc(ctx, choices, gold):
        return [ctx] * len(choices), [" " + c for c in choices], choices, gold

    if fmt == "generic":
        return mc(d["context"], d["choices"], d["gold"])
    if fmt == "arc":
        return mc("Question: " + d["question"] + "\nAnswer:", d["choices"]["text"], d["choices"]["label"].index(d["answerKey"]))
    if fmt == "openbookqa":
        return mc(d["question_stem"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"].lstrip()))
    if fmt == "boolq":
        label = d["label"] if "label" in d else int(d["answer"])
        return mc(d["passage"] + "\nQuestion: " + d["question"] + "?\nAnswer:", ["no", "yes"], label)
    if fmt == "piqa":
        return mc("Question: " + d["goal"] + "\nAnswer:", [d["sol1"], d["sol2"]], d["label"])
    if fmt == "siqa":
        return mc("Q: " + d["context"] + " " + d["question"] + "\nA:", [d["answerA"], d["answerB"], d["answerC"]], int(d["label"]) - 1)
    if fmt == "hellaswag":
        ctx = d["ctx_a"] + " " + d["ctx_b"].capitalize()
        return mc(hellaswag_preprocess(d["activity_label"] + ": " + ctx), [hellaswag_preprocess(e) for e in d["endings"]], int(d["label"]))
    if fmt == "winogrande":
        idx = d["sentence"].index("_")
        target = d["sentence"][idx + 1:].strip()
        contexts = [d["sentence"][:idx] + o for o in (d["option1"], d["option2"])]
        return contexts, [" " + target] * 2, contexts, {"1": 0, "2": 1}[d["answer"]]
    if fmt == "race":
        text, choices, gold = race_request(d)
        return mc(text, choices, gold)
    raise ValueError(fmt)


def mean_stderr(xs):
    if len(xs) < 2:
        return None
    mu = sum(xs) / len(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))


def aggregate(docs, names):
    return {**{k: sum(d[k] for d in docs) / len(docs) for k in names},
            **{k + "_stderr": mean_stderr([d[k] for d in docs]) for k in names}}


def exact_match(pred, golds):
    table = str.maketrans("", "", string.punctuation)
    p = pred.strip().lower().translate(table)
    return float(any(g.lower().translate(table) == p for g in golds))


def run_task(m, t, max_gen):
    lines = [json.loads(x) for x in t["text"].split("\n") if x.strip()]
    fmt = t["format"]
    docs = race_docs(lines) if fmt == "race" else lines
    out = []
    for d in docs:
        if fmt == "triviaqa":
            output = m.generate("Question: " + d["question"] + "?\nAnswer:", ["\n", ".", ","], max_gen)
            out.append({"output": output, "exact_match": exact_match(output, d["answer"]["aliases"])})
            continue
        ctxs, conts, choices, gold = requests_for(fmt, d)
        res = [m.loglikelihood(c, k) for c, k in zip(ctxs, conts)]
        lls = [r[0] for r in res]
        pred = max(range(len(lls)), key=lambda i: (lls[i], -i))
        norm = [ll / len(c) for ll, c in zip(lls, choices)]
        byt = [ll / len(c.encode("utf-8")) for ll, c in zip(lls, choices)]
        out.append({"lls": lls, "greedy": [r[1] for r in res], "gold": gold,
                    "acc": float(pred == gold),
                    "acc_norm": float(max(range(len(norm)), key=lambda i: (norm[i], -i)) == gold),
                    "acc_bytes": float(max(range(len(byt)), key=lambda i: (byt[i], -i)) == gold)})
    names = ["exact_match"] if fmt == "triviaqa" else ["acc", "acc_norm", "acc_bytes"]
    return {"docs": out, **aggregate(out, names)}


def rolling_windows(tokens, prefix, max_len, context_len):
    pred_len = max_len - context_len + 1
    predicted = 0
    first = min(max_len, len(tokens))
    yield [prefix] + tokens[:first - 1], tokens[:first]
    predicted += first
    while predicted < len(tokens):
        n = min(len(tokens) - predicted, pred_len)
        end = predicted + n
        yield tokens[end - max_len - 1:end - 1], tokens[end - n:end]
        predicted += n


def run_perplexity(m, p):
    tokens = m.tok_encode(p["text"], False)
    ll, windows = 0.0, 0
    for a, b in rolling_windows(tokens, m.bos_id, p["ctx"], p["ctx"] - p["stride"] + 1):
        a = a[:len(a) - (len(b) - 1)]
        inp = (a + b)[-(p["ctx"] + 1):][:-1]
        lp = m.logprobs(inp)[len(inp) - len(b):]
        ll += lp.gather(1, torch.tensor(b)[:, None]).sum().item()
        windows += 1
    return {"loglikelihood": ll, "tokens": len(tokens), "windows": windows}


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    m = Model(job["dir"], job.get("bos", True))
    res = {"tasks": {t["name"]: run_task(m, t, job.get("max_gen_tokens", 256)) for t in job.get("tasks", [])},
           "perplexity": {p["name"]: run_perplexity(m, p) for p in job.get("perplexity", [])}}
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
