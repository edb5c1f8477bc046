"""SES: the sending domain (Easy DKIM), the configuration set and its event topic.

Every mail goes through the configuration set (the ASL's Send state names it): reputation metrics
on, TLS required, and its events (reject, bounce, complaint, delivery, delay, rendering failure;
not send: the workflow records that itself) published to the ses-events topic the feedback processor reads.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from tasks import names
from workflow.context import OrderMailConfig
from workflow.encryption import EncryptionKey


class EmailSending(Construct):
    """`identity`, `configuration_set`, `events_topic`, plus the ARNs the sender's policy needs."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: OrderMailConfig, encryption: EncryptionKey
    ) -> None:
        super().__init__(scope, construct_id)
        resource_names = names.resource_names(config.env)
        configuration_set_name = resource_names["configuration_set"]

        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=configuration_set_name,
            reputation_metrics=True,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            sending_enabled=True,
            # Addresses that bounced or complained are not mailed again (ledger: SUPPRESSED).
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )

        if config.hosted_zone_id:
            # Easy DKIM with the three CNAME records written into the zone: verified without a human.
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.domain
            )
            identity = ses.Identity.public_hosted_zone(zone)
        else:
            # Easy DKIM too; the CNAME records are then published by hand (see docs/RUNBOOK.md).
            identity = ses.Identity.domain(config.domain)
        self.identity = ses.EmailIdentity(
            self,
            "Identity",
            identity=identity,
            configuration_set=self.configuration_set,
            dkim_signing=True,
        )

        self.events_topic = sns.Topic(
            self,
            "SesEventsTopic",
            topic_name=resource_names["ses_events_topic"],
            display_name=f"{names.SERVICE_NAME} {config.env} SES events",
            master_key=encryption.key,
            enforce_ssl=True,
        )
        # CDK adds the topic-policy statement for ses.amazonaws.com (SourceAccount + SourceArn of
        # this configuration set); the key policy needs the matching grant.
        self.configuration_set.add_event_destination(
            "ToSesEventsTopic",
            configuration_set_event_destination_name="ses-events-topic",
            destination=ses.EventDestination.sns_topic(self.events_topic),
            events=[getattr(ses.EmailSendingEvent, event) for event in names.SES_EVENT_TYPES],
        )
        encryption.allow_ses_events(configuration_set_name=configuration_set_name)

        self.identity_arn = f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}:identity/{config.domain}"
        self.configuration_set_arn = (
            f"arn:{Aws.PARTITION}:ses:{Aws.REGION}:{Aws.ACCOUNT_ID}"
            f":configuration-set/{configuration_set_name}"
        )
