"""Generate N fictitious requests in the contract's JSONL format (for benchmarks).

Invented people only: names from short lists, phones in the fictional
555-01xx block, emails at example.com. Usage:

    python bench/generate.py 100000 -o /tmp/requests.jsonl [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

FIRST = ["Ava", "Mateo", "Noor", "Ivan", "Grace", "Tomas", "Lena", "Kofi", "Rosa",
         "Henry", "Yuki", "Omar", "Clara", "Diego", "Maeve", "Ravi", "Elsa", "Jonah"]
LAST = ["Quimby", "Ferreira", "Okonkwo", "Lindgren", "Castillo", "Whitcombe",
        "Nakamura", "Haddad", "Brennan", "Sorensen", "Achebe", "Villalobos"]
MESSAGES = [
    ("scheduling", "I need to reschedule my appointment on {day} to the following "
                   "week, afternoons work best."),
    ("scheduling", "Hi, I'd like to book an annual physical at Lakeview. I'm a new "
                   "patient, insurance is Aetna PPO."),
    ("billing", "I was charged twice for my visit on {day}. Can you refund one of "
                "the copays?"),
    ("records", "Please send a copy of my immunization records to my new school."),
    ("insurance", "My insurance changed to Cigna this month, attached is my card."),
    ("prescription", "Could you send a refill of my lisinopril to the CVS on Main? "
                     "I have about two weeks left."),
    ("symptom", "My ankle is still swollen two days after I twisted it, should "
                "someone look at it?"),
    ("general", "What are your hours on Saturday and is there parking nearby?"),
    ("emergency", "I'm paying my bill online but honestly my chest hurts and my "
                  "left arm is numb right now."),
]


def _person(rng: random.Random) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "first_name": first, "last_name": last,
        "dob": f"{rng.randint(1940, 2015)}-{rng.randint(1, 12):02d}-"
               f"{rng.randint(1, 28):02d}",
        "phone": f"(312) 555-01{rng.randint(0, 99):02d}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.com",
    }


def request(index: int, rng: random.Random, start: datetime) -> dict[str, Any]:
    person = _person(rng)
    _, template = rng.choice(MESSAGES)
    text = template.format(day=f"December {rng.randint(1, 28)}")
    received = (start + timedelta(minutes=index)).isoformat()
    channel = rng.choice(["web_form", "portal", "email", "phone", "chat"])
    if channel == "web_form":
        payload: dict[str, Any] = {"fields": {**person, "reason": "other"},
                                   "message": text}
    elif channel == "portal":
        payload = {"patient_id": f"MG-{rng.randint(100000, 999999)}",
                   "subject": "Question", "body": text, "attachments": []}
    elif channel == "email":
        payload = {"raw": (
            f"From: {person['first_name']} {person['last_name']} <{person['email']}>\n"
            "To: Front Desk <frontdesk@example.org>\nSubject: Request\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{text}\n\nDOB {person['dob']}\n{person['first_name']}\n")}
    elif channel == "phone":
        payload = {"caller_number": person["phone"], "transcript": (
            "Staff: Thank you for calling, how can I help?\n"
            f"Caller: Hi, this is {person['first_name']}. {text}\n"
            "Staff: And your date of birth?\n"
            f"Caller: {person['dob']}.")}
    else:
        payload = {"messages": [
            {"from": "bot", "text": "Hi! How can we help?"},
            {"from": "visitor", "text": text},
            {"from": "visitor", "text": f"my number is {person['phone']}"}]}
    return {"id": f"gen-{index:07d}", "channel": channel, "received_at": received,
            "payload": payload}


def generate(n: int, out: Path, seed: int = 7) -> Path:
    rng = random.Random(seed)
    start = datetime.fromisoformat("2024-01-02T08:00:00-06:00")
    with out.open("w", encoding="utf-8") as handle:
        for index in range(n):
            handle.write(json.dumps(request(index, rng, start)) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.n, args.output, args.seed)


if __name__ == "__main__":
    main()
