from django.db import migrations, models

import sharing.models


class Migration(migrations.Migration):
    dependencies = [("sharing", "0008_api_tokens")]

    operations = [
        migrations.AddField(
            model_name="team",
            name="time_zone",
            field=models.CharField(
                default=sharing.models.default_time_zone,
                help_text="A share until a day ends at midnight of that day here (e.g. Europe/Berlin).",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="team",
            name="last_synced_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
