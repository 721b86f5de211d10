"""Buurtonderzoek: a scheduled question to the subscribers near an incident, with the answers collected.

- ``spec``: pure parsing of a canvass request (mail lines or CLI options): where, when, the question.
- ``models``: the tables (canvasses, their recipients, reply tokens and answers).
- ``store``: the queries, including the claim of due steps (``FOR UPDATE SKIP LOCKED``).
- ``targeting``: who gets it (a bounding-box prefilter in SQL, then exact great-circle distances).
- ``service``: create (with the owner's confirmation) and cancel.
- ``steps``: the scheduled steps send / remind / close, recording and forwarding answers, digests.
- ``jobs``: the scheduler's entry points (steps, digests, retention of answers).
- ``mails``: rendering (the question once, a personal Reply-To per recipient) and queuing.
- ``inbox``: the mail handlers (a moderator's request, the ``cancel`` reply, a subscriber's answer).
- ``attachments``, ``results``: an answer's attachments from its raw mail; the summary and its CSV.
"""
