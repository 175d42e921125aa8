"""Postfix host: read the maps back with postmap and postalias, and deliver through them."""

import time
import uuid

import pytest

testinfra_hosts = ["ansible://mh-modules-postfix"]


def test_postmap_answers_virtual(host):
    assert host.check_output("postmap -q info@example.com hash:/etc/postfix/virtual") == "mhuser"
    assert host.check_output("postmap -q sales@example.com hash:/etc/postfix/virtual") == "mhuser, root"
    assert host.check_output("postmap -q example.org hash:/etc/postfix/transport") == "smtp:[relay.example.com]:587"


def test_postalias_answers(host):
    assert host.check_output("postalias -q mh-team hash:/etc/aliases") == "mhuser"
    extra = host.check_output("postalias -q helpdesk hash:/etc/postfix/extra_aliases")
    assert extra == "mhuser, :include:/etc/postfix/helpdesk.list"
    assert host.file("/etc/postfix/extra_aliases").mode == 0o644


def test_mail_to_alias_reaches_mailbox(host):
    token = uuid.uuid4().hex
    host.run_expect([0], "printf 'Subject: %s\\n\\nbody\\n' | /usr/sbin/sendmail mh-team" % token)
    for _attempt in range(30):
        if token in host.run("cat /var/mail/mhuser").stdout:
            return
        time.sleep(1)
    pytest.fail("the message to mh-team never reached /var/mail/mhuser")
