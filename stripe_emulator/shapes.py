"""Skeletons of the Stripe objects the emulator returns.

Each builder returns a fresh object carrying every top-level field Stripe documents for that
type (null/empty when the emulator has nothing better), so code written against real Stripe
responses never trips over a missing key. Callers override what matters.
"""

from __future__ import annotations

import copy
from typing import Any


def _address() -> dict[str, Any]:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def _requirements(currently_due: list[str], disabled_reason: str | None) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(currently_due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(currently_due),
        "past_due": list(currently_due) if disabled_reason else [],
        "pending_verification": [],
    }


def empty_list(url: str) -> dict[str, Any]:
    return {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url}


_ACCOUNT: dict[str, Any] = {
    "id": None,
    "object": "account",
    "business_profile": {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": None,
        "minority_owned_business_designation": None,
        "name": None,
        "product_description": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
    },
    "business_type": None,
    "capabilities": {},
    "charges_enabled": False,
    "controller": {"type": "account"},
    "country": "US",
    "created": None,
    "default_currency": "usd",
    "details_submitted": False,
    "email": None,
    "external_accounts": None,
    "future_requirements": None,
    "metadata": {},
    "payouts_enabled": False,
    "requirements": None,
    "settings": {
        "bacs_debit_payments": {"display_name": None, "service_user_number": None},
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
        "card_payments": {
            "decline_on": {"avs_failure": False, "cvc_failure": False},
            "statement_descriptor_prefix": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
        "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": "offer"},
        "payments": {
            "statement_descriptor": None,
            "statement_descriptor_kana": None,
            "statement_descriptor_kanji": None,
        },
        "payouts": {
            "debit_negative_balances": True,
            "schedule": {"delay_days": 2, "interval": "daily"},
            "statement_descriptor": None,
        },
        "sepa_debit_payments": {},
    },
    "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    "type": "express",
}


def account(**overrides: Any) -> dict[str, Any]:
    obj = copy.deepcopy(_ACCOUNT)
    obj["requirements"] = _requirements([], None)
    obj["future_requirements"] = _requirements([], None)
    obj.update(overrides)
    return obj


def requirements(currently_due: list[str], disabled_reason: str | None) -> dict[str, Any]:
    return _requirements(currently_due, disabled_reason)


def capability(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "capability",
        "account": None,
        "future_requirements": _requirements([], None),
        "requested": True,
        "requested_at": None,
        "requirements": _requirements([], None),
        "status": "inactive",
    }
    obj.update(overrides)
    return obj


def bank_account(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "bank_account",
        "account": None,
        "account_holder_name": None,
        "account_holder_type": None,
        "account_type": None,
        "available_payout_methods": ["standard"],
        "bank_name": "STRIPE TEST BANK",
        "country": "US",
        "currency": "usd",
        "customer": None,
        "default_for_currency": True,
        "fingerprint": None,
        "future_requirements": None,
        "last4": "6789",
        "metadata": {},
        "requirements": None,
        "routing_number": "110000000",
        "status": "new",
    }
    obj.update(overrides)
    return obj


def account_link(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "object": "account_link",
        "created": None,
        "expires_at": None,
        "url": None,
    }
    obj.update(overrides)
    return obj


def login_link(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"object": "login_link", "created": None, "url": None}
    obj.update(overrides)
    return obj


def checkout_session(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": None,
        "currency": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": None,
        "discounts": [],
        "expires_at": None,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": None,
        "managed_payments": None,
        "metadata": {},
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }
    obj.update(overrides)
    return obj


def customer_details(email: str | None, name: str | None) -> dict[str, Any]:
    return {
        "address": _address(),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def price(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "price",
        "active": False,
        "billing_scheme": "per_unit",
        "created": None,
        "currency": None,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": None,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }
    obj.update(overrides)
    return obj


def line_item(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": 0,
        "amount_tax": 0,
        "amount_total": 0,
        "currency": None,
        "description": None,
        "metadata": {},
        "price": None,
        "quantity": 1,
    }
    obj.update(overrides)
    return obj


def payment_intent(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "payment_intent",
        "amount": 0,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": None,
        "confirmation_method": "automatic",
        "created": None,
        "currency": None,
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    obj.update(overrides)
    return obj


def card_details(brand: str, last4: str, funding: str = "credit") -> dict[str, Any]:
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "exp_month": 12,
        "exp_year": 2034,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": f"emu{brand}{last4}",
        "funding": funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": 0, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }


def payment_method_card(brand: str, last4: str, funding: str = "credit") -> dict[str, Any]:
    """The ``card`` of a PaymentMethod (not of a charge's payment_method_details)."""
    return {
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "unchecked",
        },
        "country": "US",
        "display_brand": brand,
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": f"emu{brand}{last4}",
        "funding": funding,
        "generated_from": None,
        "last4": last4,
        "networks": {"available": [brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def payment_method(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": _address(),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": None,
        "created": None,
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }
    obj.update(overrides)
    return obj


def charge(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "charge",
        "amount": 0,
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": _address(),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "KINDRED",
        "captured": False,
        "created": None,
        "currency": None,
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": None,
        "paid": False,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_details": None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": None,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "pending",
        "transfer_data": None,
        "transfer_group": None,
    }
    obj.update(overrides)
    return obj


def outcome(
    *, type: str, network_status: str, reason: str | None, seller_message: str
) -> dict[str, Any]:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": network_status,
        "reason": reason,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": seller_message,
        "type": type,
    }


def refund(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "refund",
        "amount": 0,
        "balance_transaction": None,
        "charge": None,
        "created": None,
        "currency": None,
        "customer": None,
        "customer_account": None,
        "destination_details": {
            "card": {"reference_status": "pending", "type": "refund"},
            "type": "card",
        },
        "metadata": {},
        "payment_intent": None,
        "payment_method": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    obj.update(overrides)
    return obj


def transfer(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "transfer",
        "amount": 0,
        "amount_reversed": 0,
        "balance_transaction": None,
        "created": None,
        "currency": None,
        "description": None,
        "destination": None,
        "destination_payment": None,
        "livemode": False,
        "metadata": {},
        "reversals": None,
        "reversed": False,
        "source_transaction": None,
        "source_type": "card",
        "transfer_group": None,
    }
    obj.update(overrides)
    return obj


def transfer_reversal(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "transfer_reversal",
        "amount": 0,
        "balance_transaction": None,
        "created": None,
        "currency": None,
        "destination_payment_refund": None,
        "metadata": {},
        "source_refund": None,
        "transfer": None,
    }
    obj.update(overrides)
    return obj


def balance_transaction(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "balance_transaction",
        "amount": 0,
        "available_on": None,
        "balance_type": "payments",
        "created": None,
        "currency": None,
        "description": None,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": 0,
        "reporting_category": None,
        "source": None,
        "status": "pending",
        "type": None,
    }
    obj.update(overrides)
    return obj


def payout(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "payout",
        "amount": 0,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": None,
        "automatic": False,
        "balance_transaction": None,
        "created": None,
        "currency": None,
        "description": None,
        "destination": None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "pending",
        "trace_id": None,
        "type": "bank_account",
    }
    obj.update(overrides)
    return obj


def dispute(**overrides: Any) -> dict[str, Any]:
    evidence_fields = [
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    ]
    evidence: dict[str, Any] = dict.fromkeys(evidence_fields)
    evidence["enhanced_evidence"] = {}
    obj: dict[str, Any] = {
        "id": None,
        "object": "dispute",
        "amount": 0,
        "balance_transactions": [],
        "charge": None,
        "created": None,
        "currency": None,
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": None,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": None,
        "payment_method_details": None,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    obj.update(overrides)
    return obj


def event(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "event",
        "api_version": None,
        "created": None,
        "data": {"object": {}},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": None,
    }
    obj.update(overrides)
    return obj


def webhook_endpoint(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": None,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": None,
        "description": None,
        "enabled_events": [],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": None,
    }
    obj.update(overrides)
    return obj


def balance(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "object": "balance",
        "available": [],
        "connect_reserved": [],
        "livemode": False,
        "pending": [],
    }
    obj.update(overrides)
    return obj
