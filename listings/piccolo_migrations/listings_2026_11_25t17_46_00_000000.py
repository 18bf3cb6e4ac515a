"""Seed the credential taxonomy (hand-written data migration)."""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T17:46:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seed the credential taxonomy"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="listings", description=DESCRIPTION)

    async def seed():
        from listings.tables import Credential
        from listings.vocabulary import CREDENTIALS

        for code, full_name, body, category, entry_level, active, aliases in CREDENTIALS:
            if await Credential.exists().where(Credential.code == code):
                continue
            await Credential.insert(
                Credential(
                    code=code,
                    full_name=full_name,
                    issuing_body=body,
                    category=category,
                    entry_level=entry_level,
                    active=active,
                    aliases=json.dumps(aliases),
                )
            )

    manager.add_raw(seed)
    return manager
