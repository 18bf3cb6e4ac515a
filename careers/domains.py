"""Every domain on the board: the one list that create_app, the worker and the `careers` command read.

Top floor: it imports each domain's plugin (a declaration; the parts load when a process needs them).
Order matters only where people see it: `careers --help` lists subcommands in this order.
"""

from billing.plugin import PLUGIN as BILLING
from careers.accounts.plugin import PLUGIN as ACCOUNTS
from careers.coders.plugin import PLUGIN as CODERS
from careers.core.registry import DomainPlugin
from employers.plugin import PLUGIN as EMPLOYERS
from listings.liveness.plugin import PLUGIN as LIVENESS
from listings.moderation.plugin import PLUGIN as MODERATION
from listings.plugin import PLUGIN as LISTINGS
from listings.reach.plugin import PLUGIN as REACH
from search.plugin import PLUGIN as SEARCH

DOMAINS: tuple[DomainPlugin, ...] = (ACCOUNTS, LISTINGS, SEARCH, BILLING, CODERS, EMPLOYERS, MODERATION, LIVENESS,
                                     REACH)
