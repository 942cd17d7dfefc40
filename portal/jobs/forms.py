"""The operator's one form: which job to put back."""

from __future__ import annotations

from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from portal.web.forms import CheckedByCSRFProtectForm

#: procrastinate's ids are bigserial: a larger number names no job (and PostgreSQL refuses it).
MAX_JOB_ID = 2**63 - 1


class JobForm(CheckedByCSRFProtectForm):
    job_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_JOB_ID)])
