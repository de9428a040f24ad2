#!/usr/bin/env python3
"""Reference renderings of the chat templates in tests/ref/chat_templates/ with Python jinja2 (Debian
python3-jinja2), set up as Hugging Face transformers renders chat templates (apply_chat_template:
a sandboxed environment with trim_blocks and lstrip_blocks, loop controls, its tojson filter,
raise_exception). Writes chat_templates/expected.json: per template and case, the prompt text or
the error the template raised. Run: python3 tests/ref/render_chat_templates.py"""
import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'chat_templates')


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' tojson: no HTML escaping, keys in their order
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters['tojson'] = tojson
    env.globals['raise_exception'] = raise_exception
    env.globals['strftime_now'] = strftime_now
    return env


def main():
    with open(os.path.join(HERE, 'cases.json'), encoding='utf-8') as f:
        spec = json.load(f)
    env = environment()
    out = {}
    for name, tokens in spec['templates'].items():
        with open(os.path.join(HERE, name + '.jinja'), encoding='utf-8') as f:
            tpl = env.from_string(f.read())
        out[name] = {}
        for case in spec['cases']:
            kw = dict(messages=case['messages'], add_generation_prompt=case['add_generation_prompt'], **tokens)
            if case.get('tools'):
                kw['tools'] = case['tools']
            try:
                out[name][case['name']] = {'text': tpl.render(**kw)}
            except jinja2.exceptions.TemplateError as e:
                out[name][case['name']] = {'error': str(e)}
    with open(os.path.join(HERE, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
