from .env import check_stack

__all__ = ['check_stack']
