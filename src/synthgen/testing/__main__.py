"""``python -m synthgen.testing``: FakeTeacher as a process, for benchmarks and demos."""

from synthgen.testing.process import main

raise SystemExit(main())
