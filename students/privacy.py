"""Personal information in lists: ID numbers are masked (个人信息保护法, domain §9)."""


def mask_id(number):
    """420102********1234: the region and the last four stay; birth date and sequence are hidden."""
    if not number:
        return ""
    if len(number) >= 14:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    keep = 2 if len(number) > 5 else 1
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


def mask_number(number):
    """A G number is the letter and the resident ID, a J number embeds the birth date: mask them alike."""
    if not number:
        return ""
    return number[0] + mask_id(number[1:])
