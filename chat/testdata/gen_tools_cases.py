#!/usr/bin/env python3
"""Writes cases_tools.json and conversations_tools.json beside this script:
every template of ../shared/chat rendered with one OpenAI-style tool, by
../shared/chat/generate.py's own rendering set-up (jinja2 3.1.6 configured
as transformers does). ../shared/chat/README.md describes these files; this
copy exists because that folder was shipped without them.

Usage: python3 gen_tools_cases.py [SHARED_CHAT_DIR]   (default ../../../shared/chat)
"""
import json
import os
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "chat")
sys.path.insert(0, SHARED)
import generate  # noqa: E402  (the reference generator: render(), TOOL_CONVERSATIONS)

index = json.load(open(os.path.join(SHARED, "templates.json"), encoding="utf-8"))
cases = []
for t in index:
    source = open(os.path.join(SHARED, t["template_file"]), encoding="utf-8", newline="").read()
    for conv_name, conv in generate.TOOL_CONVERSATIONS.items():
        for agp in (False, True):
            case = OrderedDict([
                ("name", "%s/%s/%s" % (t["name"], conv_name, "gen" if agp else "nogen")),
                ("template_file", t["template_file"]),
                ("bos_token", t["bos_token"]),
                ("eos_token", t["eos_token"]),
                ("conversation", conv_name),
                ("tools", conv["tools"]),
                ("add_generation_prompt", agp),
            ])
            try:
                case["expected"] = generate.render(
                    source, json.loads(json.dumps(conv["messages"])), agp, t["bos_token"], t["eos_token"],
                    tools=json.loads(json.dumps(conv["tools"])))
            except Exception as e:  # noqa: BLE001
                case["error"] = str(e)
                case["error_type"] = type(e).__name__
            cases.append(case)

with open(os.path.join(HERE, "cases_tools.json"), "w", encoding="utf-8") as fh:
    json.dump(cases, fh, ensure_ascii=False, indent=1)
    fh.write("\n")
with open(os.path.join(HERE, "conversations_tools.json"), "w", encoding="utf-8") as fh:
    json.dump(generate.TOOL_CONVERSATIONS, fh, ensure_ascii=False, indent=1)
    fh.write("\n")
print("tool cases:", len(cases), "ok:", sum("expected" in c for c in cases),
      "errors:", sum("error" in c for c in cases))
