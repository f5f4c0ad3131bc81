"""What the web chat's pages say besides the core's own texts, each translated when shown.

The interview's questions, refusals, answers and status names come from the core
(bot/messages.py, bot/asking.py), exactly as Telegram shows them; only what a page needs
that a chat does not (a code to come back with, a form's label) is written here.
"""

from __future__ import annotations

from bot.i18n import Tr
from bot.i18n_marks import N_

WORDS = {
    # Also the Telegram /help's heading and first line (handlers/interview_view.py).
    "title": N_("Judicial assistance: help for families in hardship because of a case"),
    "intro": N_(
        "I ask you some questions, one at a time. Your answers go to a caseworker of the procuratorate, who decides and tells you here."
    ),
    # Said in the chat too (handlers/interview_view.py): the same words on both.
    "welcome_back": N_("Welcome back. Let us continue where you stopped."),
    "thanks_sent": N_("Thank you. Your application has been sent."),
    "your_ref": N_("Your reference: {ref}"),
    "your_applications": N_("Your applications"),
    # /delete's, as handlers/privacy.py says them.
    "erase_draft_q": N_(
        "Delete your unfinished application and all its answers now? This cannot be undone."
    ),
    "yes_delete": N_("Yes, delete my answers"),
    "no_keep": N_("No, keep them"),
    "draft_deleted": N_("Your unfinished application and its answers were deleted."),
    "no_draft_to_delete": N_("There is no unfinished application to delete."),
    "sent_deletion": N_(
        "A sent application is part of a case file, so a caseworker completes its deletion (or tells you why it must be kept). You will be told here."
    ),
    "ask_delete": N_("Ask to delete {ref}"),
    "already_requested": N_("Your request is already with a caseworker."),
    "nothing_to_delete": N_("We hold no application from you. Nothing to delete."),
    "cannot_request": N_("That request cannot be made (it may already be with a caseworker)."),
    "deletion_asked": N_(
        "Your request to delete {ref} was passed to a caseworker. You will be told here."
    ),
    "start": N_("Start an application"),
    "start_new": N_("Start a new application"),
    "have_code": N_("I have a code: go on with my application"),
    "no_account": N_(
        "You do not need an account. When you start, you get a code: with it you can come back to your application later, on any phone."
    ),
    "your_code": N_("Your code"),
    "keep_code": N_(
        "Write this code down or take a photo of it. With it you can come back to your application on any phone: open this page and tap “I have a code”."
    ),
    "code_once": N_(
        "The code is shown only now. If you lose it, you can get a new one on the page of your applications."
    ),
    "continue": N_("Continue"),
    "type_code": N_("Type your code (8 letters and digits)"),
    "go_on": N_("Go on"),
    "code_unknown": N_("That code was not found. Please check it and type it again."),
    "too_many_tries": N_("Too many tries. Please wait a few minutes and try again."),
    "too_many_requests": N_("Too many requests at once. Please wait a minute and try again."),
    "form_too_old": N_("This page was too old to send. Please open it again and send once more."),
    "not_found": N_("This page does not exist."),
    "too_large": N_("That was too much to send at once. Please make it shorter."),
    "home": N_("To the start page"),
    "your_answer": N_("Your answer"),
    "choose_file": N_("Choose a photo or a file"),
    "send_file": N_("Send this file"),
    "next": N_("Save and go on"),
    "change": N_("Change"),
    "my_applications": N_("See my applications"),
    "no_applications": N_("You have no applications yet."),
    "unsent": N_("An application you have not sent yet."),
    "sent_next": N_(
        "A caseworker of the procuratorate will look at it. Open this page again to see what happens next."
    ),
    "messages": N_("Messages for you"),
    "read_them": N_("I have read these"),
    "messages_waiting": N_("There are messages for you. Tap here to read them."),
    "question_waiting": N_("The caseworker is waiting for your answer about application {ref}."),
    "send_answer": N_("Send my answer"),
    "answer_sent": N_("Your answer was sent to the caseworker."),
    "answer_empty": N_("Please type your answer first."),
    "question_closed": N_("This question is closed. What you sent is kept."),
    "my_data": N_("Download my data"),
    "delete_data": N_("Delete my data"),
    "new_code": N_("Get a new code"),
    "new_code_old_gone": N_("Your old code does not work any more."),
    "start_again": N_("If you change your mind, you can start again."),
    # With the script on: a form that could not be sent (no signal); the page stays.
    "not_sent": N_("It could not be sent. Please check the signal and tap again."),
    "record_voice": N_("Record a voice message instead of typing"),
    "send_recording": N_("Send the recording"),
    "reply_file": N_("You can also send a photo or a voice message (if you want)"),
}


class Words:
    """``w("key")`` in a template: the page text in the reader's language."""

    def __init__(self, tr: Tr) -> None:
        self.tr = tr

    def __call__(self, key: str) -> str:
        return self.tr.gettext(WORDS[key])
