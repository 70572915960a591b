"""Block Kit validation: the limits of /work/shared/SLACK.md plus the structural rules Slack enforces.

``validate_message(payload)`` and ``validate_view(view)`` return a list of problems; an empty list
means Slack would accept the payload. Each problem names the offending field with a JSON pointer,
the way Slack's own ``invalid_blocks`` errors do, e.g.
``header text must be at most 150 characters, got 151 [json-pointer:/blocks/0/text/text]``.

Blocks (and views, attachments) may be given as a list/dict or as a JSON string, as they arrive in
form-encoded requests. ``message_error(problems)`` names the error code Slack would answer with
(``invalid_blocks``, ``msg_too_long``, ``no_text``...), or None when Slack would post the message
anyway (a missing ``text`` fallback is our notification policy, not a Slack rule).
"""

from __future__ import annotations

import json
import re
from typing import Any

# --- limits (SLACK.md "Block Kit limits") -----------------------------------------------------
MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
STATIC_SELECT_OPTIONS_MAX = 100
VIEW_TITLE_MAX = 24  # also submit and close
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # block_id, action_id, callback_id (and external_id)
MESSAGE_TEXT_MAX = 40000

# --- further limits from Slack's Block Kit reference -------------------------------------------
OPTION_DESCRIPTION_MAX = 75
OPTION_GROUPS_MAX = 100
OVERFLOW_OPTIONS_MAX = 5
CHECKBOX_OPTIONS_MAX = 10  # checkboxes and radio_buttons
FILE_INPUT_FILES_MAX = 10  # file_input's max_files
PLACEHOLDER_MAX = 150
URL_MAX = 3000
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
IMAGE_ALT_TEXT_MAX = 2000
IMAGE_TITLE_MAX = 2000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
PLAIN_TEXT_INPUT_LENGTH_MAX = 3000
MARKDOWN_BLOCK_TEXT_MAX = 12000

BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "input",
    "rich_text",
    "markdown",
    "video",
    "file",
}

SELECT_TYPES = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
}
MULTI_SELECT_TYPES = {"multi_" + t for t in SELECT_TYPES}
TEXT_INPUT_TYPES = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
}
PICKER_TYPES = {"datepicker", "timepicker", "datetimepicker"}
CHOICE_TYPES = {"checkboxes", "radio_buttons"}

ACTIONS_ELEMENT_TYPES = (
    {"button", "overflow", "workflow_button"}
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
    | PICKER_TYPES
    | CHOICE_TYPES
    | {"rich_text_input"}
)
ACCESSORY_TYPES = (
    {"button", "overflow", "image", "workflow_button"}
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
    | PICKER_TYPES
    | CHOICE_TYPES
)
INPUT_ELEMENT_TYPES = (
    SELECT_TYPES | MULTI_SELECT_TYPES | TEXT_INPUT_TYPES | PICKER_TYPES | CHOICE_TYPES
)
RICH_TEXT_ELEMENT_TYPES = {
    "rich_text_section",
    "rich_text_list",
    "rich_text_preformatted",
    "rich_text_quote",
}

# --- problem tags: how the fake server turns problems into Slack's error codes ---------------------
NO_TEXT = "no_text"
MSG_TOO_LONG = "msg_too_long"
BAD_JSON = "invalid_blocks_format"
MISSING_FALLBACK = "missing text fallback"  # our notification policy; Slack itself accepts it

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Path = tuple[Any, ...]


def _pointer(path: Path) -> str:
    return "/" + "/".join(str(p) for p in path) if path else ""


class _Checker:
    """Collects problems while walking one payload."""

    def __init__(self, surface: str) -> None:
        self.surface = surface  # "message", "modal" or "home"
        self.problems: list[str] = []

    # -- reporting -----------------------------------------------------------------------------
    def add(self, message: str, path: Path = ()) -> None:
        self.problems.append(f"{message} [json-pointer:{_pointer(path)}]" if path else message)

    def max_len(self, value: Any, limit: int, what: str, path: Path) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(f"{what} must be at most {limit} characters, got {len(value)}", path)

    def string(
        self,
        obj: dict,
        key: str,
        what: str,
        path: Path,
        *,
        limit: int | None = None,
        required: bool = False,
    ) -> None:
        if key not in obj or obj[key] is None:
            if required:
                self.add(f"{what} is required", path + (key,))
            return
        value = obj[key]
        if not isinstance(value, str):
            self.add(f"{what} must be a string, got {type(value).__name__}", path + (key,))
            return
        if required and not value:
            self.add(f"{what} must not be empty", path + (key,))
        if limit is not None:
            self.max_len(value, limit, what, path + (key,))

    # -- composition objects -------------------------------------------------------------------
    def text(
        self, obj: Any, what: str, path: Path, *, plain_only: bool = False, limit: int | None = None
    ) -> None:
        """A text object: {"type": "plain_text"|"mrkdwn", "text": "..."}."""
        if not isinstance(obj, dict):
            self.add(f"{what} must be a text object, got {type(obj).__name__}", path)
            return
        kind = obj.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.add(
                f"{what} must be a text object of type {' or '.join(allowed)}, got {kind!r}",
                path + ("type",),
            )
        value = obj.get("text")
        if not isinstance(value, str) or value == "":
            self.add(f'{what} must have a non-empty "text"', path + ("text",))
            return
        if limit is not None:
            self.max_len(value, limit, what, path + ("text",))

    def confirm(self, obj: Any, path: Path) -> None:
        if not isinstance(obj, dict):
            self.add("confirm must be a confirmation dialog object", path)
            return
        self.text(
            obj.get("title"),
            "confirm title",
            path + ("title",),
            plain_only=True,
            limit=CONFIRM_TITLE_MAX,
        )
        self.text(obj.get("text"), "confirm text", path + ("text",), limit=CONFIRM_TEXT_MAX)
        self.text(
            obj.get("confirm"),
            "confirm button",
            path + ("confirm",),
            plain_only=True,
            limit=CONFIRM_BUTTON_MAX,
        )
        self.text(
            obj.get("deny"),
            "deny button",
            path + ("deny",),
            plain_only=True,
            limit=CONFIRM_BUTTON_MAX,
        )
        if obj.get("style") not in (None, "primary", "danger"):
            self.add("confirm style must be primary or danger", path + ("style",))

    def option(self, obj: Any, path: Path, *, plain_only: bool, url_allowed: bool = False) -> None:
        if not isinstance(obj, dict):
            self.add("option must be an option object", path)
            return
        self.text(
            obj.get("text"),
            "option text",
            path + ("text",),
            plain_only=plain_only,
            limit=OPTION_TEXT_MAX,
        )
        self.string(obj, "value", "option value", path, limit=OPTION_VALUE_MAX, required=True)
        if obj.get("description") is not None:
            self.text(
                obj["description"],
                "option description",
                path + ("description",),
                plain_only=plain_only,
                limit=OPTION_DESCRIPTION_MAX,
            )
        if "url" in obj:
            if not url_allowed:
                self.add("option url is only allowed in overflow menus", path + ("url",))
            self.string(obj, "url", "option url", path, limit=URL_MAX)

    def options_list(
        self,
        options: Any,
        path: Path,
        *,
        limit: int,
        what: str,
        plain_only: bool,
        url_allowed: bool = False,
        minimum: int = 1,
    ) -> list[str]:
        """Validates a list of options; returns their values."""
        if not isinstance(options, list):
            self.add(f"{what} options must be a list", path)
            return []
        if len(options) < minimum:
            self.add(f"{what} must have at least {minimum} option(s)", path)
        if len(options) > limit:
            self.add(f"{what} must have at most {limit} options, got {len(options)}", path)
        values = []
        for i, opt in enumerate(options):
            self.option(opt, path + (i,), plain_only=plain_only, url_allowed=url_allowed)
            if isinstance(opt, dict) and isinstance(opt.get("value"), str):
                values.append(opt["value"])
        return values

    # -- elements ------------------------------------------------------------------------------
    def element(self, el: Any, path: Path, allowed: set[str], where: str) -> None:
        if not isinstance(el, dict):
            self.add(f"{where} element must be an object", path)
            return
        kind = el.get("type")
        if kind not in allowed:
            self.add(f"element type {kind!r} is not allowed in {where}", path + ("type",))
            return
        if kind != "image":
            self.string(el, "action_id", "action_id", path, limit=ID_MAX)
        if "confirm" in el:
            self.confirm(el["confirm"], path + ("confirm",))
        if "placeholder" in el:
            self.text(
                el["placeholder"],
                "placeholder",
                path + ("placeholder",),
                plain_only=True,
                limit=PLACEHOLDER_MAX,
            )

        if kind == "button":
            self.text(
                el.get("text"),
                "button text",
                path + ("text",),
                plain_only=True,
                limit=BUTTON_TEXT_MAX,
            )
            self.string(el, "value", "button value", path, limit=BUTTON_VALUE_MAX)
            self.string(el, "url", "button url", path, limit=URL_MAX)
            if el.get("style") not in (None, "primary", "danger"):
                self.add("button style must be primary or danger", path + ("style",))
        elif kind == "workflow_button":
            self.text(
                el.get("text"),
                "button text",
                path + ("text",),
                plain_only=True,
                limit=BUTTON_TEXT_MAX,
            )
        elif kind == "image":
            self.image_source(el, path, "image element")
        elif kind in ("static_select", "multi_static_select"):
            self.static_select(el, path, kind)
        elif kind == "overflow":
            self.options_list(
                el.get("options"),
                path + ("options",),
                limit=OVERFLOW_OPTIONS_MAX,
                what="overflow menu",
                plain_only=True,
                url_allowed=True,
            )
        elif kind in CHOICE_TYPES:
            values = self.options_list(
                el.get("options"),
                path + ("options",),
                limit=CHECKBOX_OPTIONS_MAX,
                what=kind,
                plain_only=False,
            )
            self.initial_options(el, path, values, plain_only=False)
        elif kind in ("external_select", "multi_external_select"):
            if "initial_option" in el:
                self.option(el["initial_option"], path + ("initial_option",), plain_only=True)
        elif kind == "datepicker":
            self.pattern(el, "initial_date", _DATE_RE, "YYYY-MM-DD", path)
        elif kind == "timepicker":
            self.pattern(el, "initial_time", _TIME_RE, "HH:mm", path)
        elif kind == "number_input":
            if not isinstance(el.get("is_decimal_allowed"), bool):
                self.add(
                    "number_input needs is_decimal_allowed (true or false)",
                    path + ("is_decimal_allowed",),
                )
        elif kind == "file_input":
            files = el.get("max_files", 10)
            if not isinstance(files, int) or not 1 <= files <= FILE_INPUT_FILES_MAX:
                self.add(
                    f"max_files must be an integer between 1 and {FILE_INPUT_FILES_MAX}",
                    path + ("max_files",),
                )
            kinds = el.get("filetypes", [])
            if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
                self.add("filetypes must be an array of file extensions", path + ("filetypes",))
        elif kind == "plain_text_input":
            for key in ("min_length", "max_length"):
                value = el.get(key)
                if value is not None and (
                    not isinstance(value, int) or not 0 <= value <= PLAIN_TEXT_INPUT_LENGTH_MAX
                ):
                    self.add(
                        f"{key} must be an integer between 0 and {PLAIN_TEXT_INPUT_LENGTH_MAX}",
                        path + (key,),
                    )
        if kind in MULTI_SELECT_TYPES:
            value = el.get("max_selected_items")
            if value is not None and (not isinstance(value, int) or value < 1):
                self.add("max_selected_items must be at least 1", path + ("max_selected_items",))

    def pattern(self, el: dict, key: str, regex: re.Pattern[str], fmt: str, path: Path) -> None:
        value = el.get(key)
        if value is not None and (not isinstance(value, str) or not regex.match(value)):
            self.add(f"{key} must be formatted {fmt}, got {value!r}", path + (key,))

    def static_select(self, el: dict, path: Path, kind: str) -> None:
        has_options, has_groups = "options" in el, "option_groups" in el
        values: list[str] = []
        if has_options == has_groups:
            self.add(f"{kind} needs exactly one of options or option_groups", path)
        if has_options:
            values = self.options_list(
                el["options"],
                path + ("options",),
                limit=STATIC_SELECT_OPTIONS_MAX,
                what=kind,
                plain_only=True,
            )
        if has_groups:
            groups = el["option_groups"]
            if not isinstance(groups, list):
                self.add("option_groups must be a list", path + ("option_groups",))
            else:
                if len(groups) > OPTION_GROUPS_MAX:
                    self.add(
                        f"{kind} must have at most {OPTION_GROUPS_MAX} option groups, "
                        f"got {len(groups)}",
                        path + ("option_groups",),
                    )
                for i, group in enumerate(groups):
                    gpath = path + ("option_groups", i)
                    if not isinstance(group, dict):
                        self.add("option group must be an object", gpath)
                        continue
                    self.text(
                        group.get("label"),
                        "option group label",
                        gpath + ("label",),
                        plain_only=True,
                        limit=OPTION_TEXT_MAX,
                    )
                    values += self.options_list(
                        group.get("options"),
                        gpath + ("options",),
                        limit=STATIC_SELECT_OPTIONS_MAX,
                        what="option group",
                        plain_only=True,
                    )
        self.initial_options(el, path, values, plain_only=True)

    def initial_options(self, el: dict, path: Path, values: list[str], *, plain_only: bool) -> None:
        initial = []
        if "initial_option" in el:
            initial.append((el["initial_option"], path + ("initial_option",)))
        if "initial_options" in el:
            if isinstance(el["initial_options"], list):
                initial += [
                    (o, path + ("initial_options", i)) for i, o in enumerate(el["initial_options"])
                ]
            else:
                self.add("initial_options must be a list", path + ("initial_options",))
        for opt, opath in initial:
            self.option(opt, opath, plain_only=plain_only)
            if isinstance(opt, dict) and opt.get("value") not in values:
                self.add("initial option must be one of the element's options", opath)

    def image_source(self, obj: dict, path: Path, what: str) -> None:
        has_url, has_file = "image_url" in obj, "slack_file" in obj
        if has_url == has_file:
            self.add(f"{what} needs exactly one of image_url or slack_file", path)
        if has_url:
            self.string(obj, "image_url", "image_url", path, limit=URL_MAX, required=True)
        self.string(obj, "alt_text", "alt_text", path, limit=IMAGE_ALT_TEXT_MAX, required=True)

    # -- blocks --------------------------------------------------------------------------------
    def blocks(self, blocks: Any, path: Path, *, limit: int) -> None:
        if not isinstance(blocks, list):
            self.add("blocks must be a list", path)
            return
        if len(blocks) > limit:
            self.add(f"no more than {limit} blocks are allowed, got {len(blocks)}", path)
        seen: dict[str, int] = {}
        for i, block in enumerate(blocks):
            bpath = path + (i,)
            if not isinstance(block, dict):
                self.add("block must be an object", bpath)
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.string(block, "block_id", "block_id", bpath, limit=ID_MAX)
                if isinstance(block_id, str):
                    if block_id in seen:
                        self.add(
                            f"block_id {block_id!r} is not unique (also block {seen[block_id]})",
                            bpath + ("block_id",),
                        )
                    else:
                        seen[block_id] = i
            self.block(block, bpath)

    def block(self, block: dict, path: Path) -> None:
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.add(f"unknown block type {kind!r}", path + ("type",))
            return
        getattr(self, f"block_{kind}")(block, path)

    def unique_action_ids(self, elements: list[Any], path: Path) -> None:
        seen: set[str] = set()
        for i, el in enumerate(elements):
            action_id = el.get("action_id") if isinstance(el, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    self.add(
                        f"action_id {action_id!r} is not unique within its block",
                        path + (i, "action_id"),
                    )
                seen.add(action_id)

    def block_section(self, block: dict, path: Path) -> None:
        has_text = block.get("text") is not None
        fields = block.get("fields")
        if not has_text and not fields:
            self.add("section block must have text or fields", path)
        if has_text:
            self.text(block["text"], "section text", path + ("text",), limit=SECTION_TEXT_MAX)
        if fields is not None:
            if not isinstance(fields, list):
                self.add("section fields must be a list", path + ("fields",))
            else:
                if len(fields) > SECTION_FIELDS_MAX:
                    self.add(
                        f"section fields must have at most {SECTION_FIELDS_MAX} items, "
                        f"got {len(fields)}",
                        path + ("fields",),
                    )
                for i, field in enumerate(fields):
                    self.text(
                        field, "section field", path + ("fields", i), limit=SECTION_FIELD_TEXT_MAX
                    )
        if block.get("accessory") is not None:
            self.element(
                block["accessory"], path + ("accessory",), ACCESSORY_TYPES, "a section accessory"
            )

    def block_header(self, block: dict, path: Path) -> None:
        self.text(
            block.get("text"),
            "header text",
            path + ("text",),
            plain_only=True,
            limit=HEADER_TEXT_MAX,
        )

    def block_divider(self, block: dict, path: Path) -> None:
        pass

    def block_context(self, block: dict, path: Path) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add("context block must have a non-empty elements list", path + ("elements",))
            return
        if len(elements) > CONTEXT_ELEMENTS_MAX:
            self.add(
                f"context block must have at most {CONTEXT_ELEMENTS_MAX} elements, "
                f"got {len(elements)}",
                path + ("elements",),
            )
        for i, el in enumerate(elements):
            epath = path + ("elements", i)
            if isinstance(el, dict) and el.get("type") == "image":
                self.image_source(el, epath, "context image")
            else:
                self.text(el, "context element", epath)

    def block_actions(self, block: dict, path: Path) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add("actions block must have a non-empty elements list", path + ("elements",))
            return
        if len(elements) > ACTIONS_ELEMENTS_MAX:
            self.add(
                f"actions block must have at most {ACTIONS_ELEMENTS_MAX} elements, "
                f"got {len(elements)}",
                path + ("elements",),
            )
        for i, el in enumerate(elements):
            self.element(el, path + ("elements", i), ACTIONS_ELEMENT_TYPES, "an actions block")
        self.unique_action_ids(elements, path + ("elements",))

    def block_image(self, block: dict, path: Path) -> None:
        self.image_source(block, path, "image block")
        if block.get("title") is not None:
            self.text(
                block["title"],
                "image title",
                path + ("title",),
                plain_only=True,
                limit=IMAGE_TITLE_MAX,
            )

    def block_input(self, block: dict, path: Path) -> None:
        # Slack accepts input blocks in messages and Home tabs too (with dispatch_action).
        self.text(
            block.get("label"),
            "input label",
            path + ("label",),
            plain_only=True,
            limit=INPUT_LABEL_MAX,
        )
        if block.get("hint") is not None:
            self.text(
                block["hint"], "input hint", path + ("hint",), plain_only=True, limit=INPUT_HINT_MAX
            )
        if "element" not in block:
            self.add("input block must have an element", path + ("element",))
        else:
            self.element(
                block["element"], path + ("element",), INPUT_ELEMENT_TYPES, "an input block"
            )

    def block_rich_text(self, block: dict, path: Path) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list):
            self.add("rich_text block must have an elements list", path + ("elements",))
            return
        for i, el in enumerate(elements):
            if not isinstance(el, dict) or el.get("type") not in RICH_TEXT_ELEMENT_TYPES:
                kind = el.get("type") if isinstance(el, dict) else el
                self.add(f"unknown rich_text element {kind!r}", path + ("elements", i))

    def block_video(self, block: dict, path: Path) -> None:
        for key in ("alt_text", "video_url", "thumbnail_url"):
            self.string(block, key, key, path, required=True)
        self.text(block.get("title"), "video title", path + ("title",), plain_only=True, limit=200)

    def block_file(self, block: dict, path: Path) -> None:
        self.string(block, "external_id", "external_id", path, limit=ID_MAX, required=True)
        if block.get("source") != "remote":
            self.add('file block source must be "remote"', path + ("source",))

    def block_markdown(self, block: dict, path: Path) -> None:
        self.string(
            block, "text", "markdown text", path, limit=MARKDOWN_BLOCK_TEXT_MAX, required=True
        )


def _decode(value: Any, what: str, problems: list[str]) -> Any:
    """Blocks, attachments and views arrive as JSON strings in form-encoded requests."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            problems.append(f"{what} is not valid JSON ({BAD_JSON})")
            return None
    return value


def validate_message(payload: dict, *, require_text_fallback: bool = True) -> list[str]:
    """Problems Slack (or our notification policy) has with a chat.* / response_url message."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ["message payload must be an object"]
    checker = _Checker("message")

    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        checker.add(f"text must be a string, got {type(text).__name__}", ("text",))
    elif isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        checker.add(
            f"{MSG_TOO_LONG}: text must be at most {MESSAGE_TEXT_MAX} characters, got {len(text)}",
            ("text",),
        )

    blocks = _decode(payload.get("blocks"), "blocks", problems)
    attachments = _decode(payload.get("attachments"), "attachments", problems)
    has_text = isinstance(text, str) and text.strip() != ""
    if not (has_text or blocks or attachments or payload.get("delete_original")):
        checker.add(f"{NO_TEXT}: a message needs text, blocks or attachments")
    if blocks is not None:
        checker.blocks(blocks, ("blocks",), limit=MESSAGE_MAX_BLOCKS)
        if require_text_fallback and isinstance(blocks, list) and blocks and not has_text:
            checker.add(
                f'{MISSING_FALLBACK}: a message with blocks needs a top-level "text" '
                "for notifications",
                ("text",),
            )

    if attachments is not None:
        if not isinstance(attachments, list):
            checker.add("attachments must be a list", ("attachments",))
        else:
            for i, att in enumerate(attachments):
                if isinstance(att, dict) and att.get("blocks") is not None:
                    checker.blocks(
                        _decode(att["blocks"], "attachment blocks", problems),
                        ("attachments", i, "blocks"),
                        limit=MESSAGE_MAX_BLOCKS,
                    )
    return problems + checker.problems


def validate_view(view: dict) -> list[str]:
    """Problems Slack has with a view given to views.open / push / update / publish."""
    problems: list[str] = []
    view = _decode(view, "view", problems)
    if problems:
        return problems
    if not isinstance(view, dict):
        return ["view must be an object"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"view type must be modal or home, got {kind!r} [json-pointer:/type]"]
    checker = _Checker(kind)

    if kind == "modal":
        if view.get("title") is None:
            checker.add("a modal must have a title", ("title",))
        else:
            checker.text(
                view["title"], "modal title", ("title",), plain_only=True, limit=VIEW_TITLE_MAX
            )
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text(
                    view[key], f"modal {key}", (key,), plain_only=True, limit=VIEW_TITLE_MAX
                )
    else:
        for key in ("title", "submit", "close"):
            if key in view:
                checker.add(f"a home view must not have {key}", (key,))

    metadata = view.get("private_metadata")
    if metadata is not None:
        checker.string(view, "private_metadata", "private_metadata", (), limit=PRIVATE_METADATA_MAX)
    checker.string(view, "callback_id", "callback_id", (), limit=ID_MAX)
    checker.string(view, "external_id", "external_id", (), limit=ID_MAX)

    blocks = _decode(view.get("blocks"), "blocks", problems)
    if blocks is None and not problems:
        checker.add("a view must have blocks", ("blocks",))
    elif blocks is not None:
        checker.blocks(blocks, ("blocks",), limit=VIEW_MAX_BLOCKS)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if kind == "modal" and has_input and view.get("submit") is None:
            checker.add("a modal with input blocks must have a submit button", ("submit",))
    return problems + checker.problems


def message_error(problems: list[str]) -> str | None:
    """The error code Slack answers a chat.* call with, or None when Slack would accept it.

    A missing text fallback is our policy, not Slack's: the server records it as a problem but,
    like Slack, still posts the message.
    """
    rejected = [p for p in problems if not p.startswith(MISSING_FALLBACK)]
    for code in (MSG_TOO_LONG, NO_TEXT):
        if any(p.startswith(code) for p in rejected):
            return code
    if any(BAD_JSON in p for p in rejected):
        return BAD_JSON
    if any("[json-pointer:/attachments" in p for p in rejected):
        return "invalid_attachments"
    return "invalid_blocks" if rejected else None
