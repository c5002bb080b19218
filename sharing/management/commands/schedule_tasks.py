from django.core.management.base import BaseCommand

from sharing.tasks import schedule_next


class Command(BaseCommand):
    help = "Start the hourly time-limits task on the worker, unless it is already scheduled."

    def handle(self, *args, **options):
        if schedule_next():
            self.stdout.write("Scheduled: share and request expiry, and reminders, every hour.")
        else:
            self.stdout.write("Already scheduled, or the task backend cannot defer: nothing to do.")
