"""Front-desk phrasing the rules must cope with: slang, misspellings, Spanish,
question-and-answer negation, third parties, professionals and vendors."""

from __future__ import annotations

import pytest

from tests.triage.helpers import run

# (message, request_type, urgency, patient_status); None = not checked here.
CASES = [
    (
        "hey is dr okafor in on fridays? i wanna switch to her",
        "general",
        "routine",
        None,
    ),
    ("Hi I'm due for my mammogram can you schedule it", "scheduling", "routine", None),
    (
        "my kid threw up twice and has a 102 fever what do i do",
        "symptom",
        "urgent_review",
        "caregiver",
    ),
    (
        "I think I have pink eye, can I get drops called in?",
        "symptom",
        "urgent_review",
        None,
    ),
    ("Need my adderall refilled, have 4 left", "prescription", "soon", "existing"),
    ("can u send my meds to the new cvs on 5th", "prescription", "routine", "existing"),
    ("what's the fax number for records?", "general", "routine", None),
    (
        "I got a letter saying I owe $400 but my insurance should cover it. Can you "
        "resubmit?",
        "billing",
        "routine",
        "existing",
    ),
    (
        "My mom's home health agency needs orders signed by Dr Lindqvist",
        "records",
        "routine",
        "caregiver",
    ),
    (
        "Please have the doctor call me about my blood test results",
        "records",
        "routine",
        "existing",
    ),
    (
        "I feel really depressed and alone lately and I don't know what to do",
        "symptom",
        "urgent_review",
        None,
    ),
    (
        "sometimes I think everyone would be better off without me",
        "symptom",
        "emergency",
        None,
    ),
    (
        "my ex keeps showing up at my house and threatening me, I'm scared",
        "symptom",
        "emergency",
        None,
    ),
    ("I'm pregnant and bleeding a lot right now", "symptom", "emergency", None),
    (
        "My baby (2 months) has a fever of 100.9",
        "symptom",
        "urgent_review",
        "caregiver",
    ),
    (
        "Yo my chest been hurtin since this morning n my arm feel numb",
        "symptom",
        "emergency",
        None,
    ),
    ("i cnt breath rite", "symptom", "emergency", None),
    (
        "my dad is confused and not making sense, started an hour ago",
        "symptom",
        "emergency",
        "caregiver",
    ),
    (
        "Can you tell me if my referral to ENT went through?",
        "referral",
        "routine",
        "existing",
    ),
    (
        "I need a letter for my landlord about my emotional support animal",
        "records",
        "routine",
        None,
    ),
    (
        "I'm moving out of state and need to cancel all my future appointments",
        "scheduling",
        "routine",
        "existing",
    ),
    (
        "The medication Dr. Okafor prescribed is too expensive, is there a generic?",
        "prescription",
        "routine",
        None,
    ),
    (
        "I need to change my address and phone number on file",
        "general",
        "routine",
        None,
    ),
    (
        "my prescription for amoxicillin was never sent, I have strep",
        "symptom",
        "urgent_review",
        None,
    ),
    ("Quiero cambiar mi cita del martes al jueves", "scheduling", "soon", "existing"),
    ("Mi mamá se cayó y no se puede levantar", "symptom", "urgent_review", "caregiver"),
    ("¿Cuánto cuesta una consulta sin seguro?", "billing", "routine", None),
    (
        "took my bp at home it's 195/115 and I have a headache",
        "symptom",
        "urgent_review",
        None,
    ),
    ("I accidentally took my evening pills twice", "symptom", "urgent_review", None),
    (
        "Dr. Lindqvist wanted me to come back in 3 months for a recheck, can I book "
        "that?",
        "scheduling",
        "routine",
        "existing",
    ),
    (
        "I missed my appointment yesterday, sorry, can I rebook?",
        "scheduling",
        "routine",
        "existing",
    ),
    (
        "Pharmacy says you denied my refill request? Why?",
        "prescription",
        "routine",
        "existing",
    ),
    ("I've been vomiting blood since last night", "symptom", "emergency", None),
    (
        "Hi this is Dr. Patel's office at City Cardiology, we'd like to refer Mr. Lee "
        "for primary care",
        "referral",
        "routine",
        "referring_provider",
    ),
    (
        "Hi, I'm a nursing student and wanted to ask about shadowing opportunities",
        "general",
        "routine",
        "unknown",
    ),
    (
        "We're the lab calling with a critical potassium result of 6.8 for one of "
        "Dr. Reyes' patients",
        None,
        "urgent_review",
        None,
    ),
    (
        "no fever, no cough, no chills, no shortness of breath. I just need a covid "
        "test for travel",
        "scheduling",
        "routine",
        None,
    ),
    (
        "My wife has chest pain but she says it's fine, should I bring her in?",
        "symptom",
        "emergency",
        "caregiver",
    ),
    (
        "Chest pain? No. Shortness of breath? No. I just need my blood pressure pills "
        "refilled, 10 days left",
        "prescription",
        "routine",
        None,
    ),
    (
        "I had covid last month and I'm fully recovered. Can I get a note to return "
        "to work?",
        "records",
        "routine",
        None,
    ),
    (
        "Last week I had a bad headache but it went away. Now I want to schedule my "
        "annual exam",
        "scheduling",
        "routine",
        None,
    ),
    (
        "If I get a fever after the vaccine, should I take Tylenol?",
        "prescription",
        "routine",
        None,
    ),
    (
        "killing it at the gym lately! anyway, can I book my physical?",
        "scheduling",
        "routine",
        None,
    ),
    (
        "my stomach has been killing me since last night and I threw up twice",
        "symptom",
        "urgent_review",
        None,
    ),
    (
        "I've had this mole forever but now it's bleeding and changing shape",
        "symptom",
        "urgent_review",
        None,
    ),
    (
        "Can you send my prescription history to my life insurance company?",
        "records",
        "routine",
        None,
    ),
    (
        "I think I'm having a panic attack, my heart is racing and I feel like I'm "
        "going to die",
        "symptom",
        "emergency",
        None,
    ),
    (
        "hives all over my body after eating peanuts, lips tingling",
        "symptom",
        "emergency",
        None,
    ),
    (
        "I slipped on the ice yesterday and hit my head, now I have a headache and "
        "feel nauseous",
        "symptom",
        "urgent_review",
        None,
    ),
    (
        "I keep having thoughts about not wanting to be alive. I'm safe right now",
        "symptom",
        "emergency",
        None,
    ),
    ("my 3yo swallowed a button battery i think", "symptom", "emergency", "caregiver"),
    (
        "Hola, llamo para cancelar la cita de mi hija mañana",
        "scheduling",
        "soon",
        "caregiver",
    ),
]


@pytest.mark.parametrize(("text", "rtype", "urgency", "status"), CASES)
def test_front_desk_phrasing(
    text: str, rtype: str | None, urgency: str | None, status: str | None
) -> None:
    result = run(text)
    if rtype:
        assert result.request_type.value == rtype, result.reasons
    if urgency:
        assert result.urgency.value == urgency, result.reasons
    if status:
        assert result.patient_status.value == status, result.reasons
