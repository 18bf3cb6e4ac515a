"""What employer pages inject: the signed-in member's organisation, as `employer` (a Litestar `Provide`).

Resolved on every request, never cached: a member removed by an owner is refused at their next request.
"""

from __future__ import annotations

from litestar import Request
from litestar.di import Provide
from litestar.exceptions import NotFoundException

from employers import service
from employers.tables import Employer


class NoOrganisation(NotFoundException):
    """The signed-in employer belongs to no organisation (removed by an owner, or never attached): 404, the same
    page as an unknown address unless a controller answers it with its own page."""


async def current_employer(request: Request) -> Employer:
    """The signed-in employer user's organisation; NoOrganisation when they have none."""
    employer = await service.employer_for_user(request.user.id)
    if employer is None:
        raise NoOrganisation()
    return employer


EMPLOYER = {"employer": Provide(current_employer)}
