"""Check digits and issuing rules of national numbers: NHS, SSN and SIN."""

from __future__ import annotations


def is_valid_nhs_number(number: str) -> bool:
    """Tell whether ten digits (spaces and dashes ignored) pass the NHS check.

    The first nine digits are weighted 10 down to 2; the check digit is
    ``11 - (sum mod 11)``, 11 becoming 0; a result of 10 is never issued.

    Args:
        number: The number as written, e.g. ``"943 476 5919"``.

    Returns:
        ``True`` when it has ten digits and the last is the right check digit.
    """
    digits = [int(char) for char in number if char.isdigit()]
    if len(digits) != 10 or len(number.replace(" ", "").replace("-", "")) != 10:
        return False
    total = sum(weight * digit for weight, digit in zip(range(10, 1, -1), digits))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


def is_valid_ssn(number: str) -> bool:
    """Tell whether nine digits (spaces and dashes ignored) may be a US SSN.

    Social Security numbers are never issued with the area number 000, 666 or
    900-999, the group number 00 or the serial number 0000.

    Args:
        number: The number as written, e.g. ``"123-45-6789"``.

    Returns:
        ``True`` when it has nine digits and none of the parts is unissued.
    """
    digits = "".join(char for char in number if char.isdigit())
    if len(digits) != 9 or len(number.replace(" ", "").replace("-", "")) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
    )


def is_valid_sin(number: str) -> bool:
    """Tell whether nine digits (spaces and dashes ignored) pass the SIN check.

    A Canadian Social Insurance Number has a Luhn check digit; its first digit
    is 1-7 (by province) or 9 (temporary residents), never 0 or 8.

    Args:
        number: The number as written, e.g. ``"130 692 544"``.

    Returns:
        ``True`` when it has nine digits, an allowed first digit and a valid
        check digit.
    """
    digits = [int(char) for char in number if char.isdigit()]
    if len(digits) != 9 or len(number.replace(" ", "").replace("-", "")) != 9:
        return False
    if digits[0] in (0, 8):
        return False
    total = 0
    for position, digit in enumerate(digits):
        if position % 2:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return total % 10 == 0
