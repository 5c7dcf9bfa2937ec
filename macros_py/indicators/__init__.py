"""Items per child: linked records turned into hits and values by the 判定ルール tab (docs/dev/SCORING.md §1-2)."""
